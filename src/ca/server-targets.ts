/** What `pki server-config` can print; apart from server-config.ts so the CLI can list them without loading the CA. */
export const SERVER_TARGETS = ["nginx", "apache", "haproxy", "postgresql", "mosquitto", "openvpn", "lighttpd", "caddy", "redis", "systemd-service", "systemd-timer", "cron", "systemd-serve"] as const;
export type ServerTarget = (typeof SERVER_TARGETS)[number];
