"""Runs a command on a pseudo-terminal and answers its prompts, as a person at a terminal would.

Usage: drive.py SPEC_JSON, where SPEC is {"argv": [...], "env": {...}, "steps": [[regex, text], ...]}:
for each step, wait until the output (after the previous match) matches regex, then type text.
Prints {"output": ..., "status": ..., "unmatched": regex or null} as JSON. Every wait is bounded
(60 s) so that a prompt that never comes fails the test instead of hanging it.
"""
import json
import os
import pty
import re
import select
import sys

spec = json.loads(sys.argv[1])
pid, fd = pty.fork()
if pid == 0:
    os.execve(spec["argv"][0], spec["argv"], spec["env"])

output = b""
position = 0
unmatched = None


def read_some(timeout):
    global output
    ready, _, _ = select.select([fd], [], [], timeout)
    if not ready:
        return False
    try:
        chunk = os.read(fd, 4096)
    except OSError:
        return None
    if not chunk:
        return None
    output += chunk
    return True


for pattern, text in spec["steps"]:
    regex = re.compile(pattern.encode())
    while True:
        match = regex.search(output, position)
        if match:
            position = match.end()
            break
        got = read_some(60)
        if not got:
            unmatched = pattern
            break
    if unmatched:
        break
    os.write(fd, text.encode())

if unmatched:
    os.kill(pid, 9)
while True:
    got = read_some(60)
    if got is None:
        break
    if got is False:
        # Silent for a minute and not finished: waiting for input the steps did not give.
        unmatched = "(end of output: the command was still waiting)"
        os.kill(pid, 9)
        break
_, status = os.waitpid(pid, 0)
print(json.dumps({"output": output.decode("utf-8", "replace"), "status": os.waitstatus_to_exitcode(status), "unmatched": unmatched}))
