// Prometheus text exposition format 0.0.4 (https://prometheus.io/docs/instrumenting/exposition_formats/),
// written by hand: three counters and a histogram do not need a client library.
import type { ServiceFigures } from "../ca/serving.js";

/** Upper bounds (seconds) of the OCSP latency histogram: a cached answer is tens of µs, a signature about 0.1 ms. */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

export class Metrics {
  private readonly requests = new Map<string, number>();
  private readonly ocspOutcomes = new Map<string, number>();
  private readonly latency = { buckets: LATENCY_BUCKETS.map(() => 0), sum: 0, count: 0 };
  private readonly started = Date.now();

  request(route: string, status: number): void {
    const key = `route="${route}",status="${status}"`;
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
  }

  ocsp(outcome: string, seconds: number, cached: boolean): void {
    const key = `outcome="${outcome}",cached="${cached}"`;
    this.ocspOutcomes.set(key, (this.ocspOutcomes.get(key) ?? 0) + 1);
    LATENCY_BUCKETS.forEach((b, i) => {
      if (seconds <= b) this.latency.buckets[i]!++;
    });
    this.latency.sum += seconds;
    this.latency.count++;
  }

  /** @param rssBytes the process's resident memory, passed in: the server layer does not read process state itself */
  render(figures: ServiceFigures, now: Date, rssBytes: number): string {
    const out: string[] = [];
    const family = (name: string, type: string, help: string, samples: [string, number][]) => {
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
      for (const [labels, v] of samples) out.push(`${name}${labels ? `{${labels}}` : ""} ${v}`);
    };
    family("pki_http_requests_total", "counter", "HTTP requests answered, by route and status.", [...this.requests]);
    family("pki_ocsp_responses_total", "counter", "OCSP answers by outcome, and whether they came from the cache.", [...this.ocspOutcomes]);
    out.push("# HELP pki_ocsp_response_seconds Time to answer an OCSP request.", "# TYPE pki_ocsp_response_seconds histogram");
    LATENCY_BUCKETS.forEach((b, i) => out.push(`pki_ocsp_response_seconds_bucket{le="${b}"} ${this.latency.buckets[i]}`));
    out.push(`pki_ocsp_response_seconds_bucket{le="+Inf"} ${this.latency.count}`, `pki_ocsp_response_seconds_sum ${this.latency.sum}`, `pki_ocsp_response_seconds_count ${this.latency.count}`);
    const c = figures.certificates;
    family("pki_certificates", "gauge", "Leaf certificates in the ledger by status.", [
      ['status="valid"', c.valid], ['status="expired"', c.expired], ['status="revoked"', c.revoked], ['status="superseded"', c.superseded],
    ]);
    if (figures.crl) {
      family("pki_crl_next_update_seconds", "gauge", "Seconds until the current CRL's nextUpdate; servers refuse every client after it.", [["", (figures.crl.nextUpdate.getTime() - now.getTime()) / 1000]]);
      family("pki_crl_number", "gauge", "Number of the current CRL.", [["", figures.crl.number]]);
    }
    family("pki_root_not_after_seconds", "gauge", "Seconds until the root CA certificate expires.", [["", (figures.rootNotAfter.getTime() - now.getTime()) / 1000]]);
    family("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", [["", rssBytes]]);
    family("pki_uptime_seconds", "gauge", "Seconds since pki serve started.", [["", (now.getTime() - this.started) / 1000]]);
    return out.join("\n") + "\n";
  }
}
