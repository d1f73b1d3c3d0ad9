#!/usr/bin/env python3
"""A Python agent paying a rate-limited merchant through Helix.

The merchant is a local HTTP server started here (a stand-in: it answers
429 with Retry-After once per payment, then 200). The agent's payment call
fails, Helix (`helix serve`, mode auto) waits out Retry-After, the agent
retries and reports success; the second payment is repaired by the gene.
Prints one JSON object. Needs HELIX_URL and HELIX_API_TOKEN.
"""

import http.server
import json
import sys
import threading
import urllib.error
import urllib.request

from helix_client import Helix, with_helix


class Merchant(http.server.BaseHTTPRequestHandler):
    seen = set()

    def do_POST(self):  # noqa: N802 - http.server's naming
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        key = body["idempotency_key"]
        if key not in Merchant.seen:
            Merchant.seen.add(key)
            self.send_response(429)
            self.send_header("retry-after", "1")
            self.end_headers()
            self.wfile.write(b"Too Many Requests")
            return
        self.send_response(200)
        self.end_headers()
        self.wfile.write(json.dumps({"paid": body["amount"]}).encode())

    def log_message(self, *args):
        pass


def main():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Merchant)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/pay"

    def pay(payment):
        req = urllib.request.Request(url, data=json.dumps(payment).encode(), method="POST",
                                     headers={"content-type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.load(r)

    def failure_of(e):
        if isinstance(e, urllib.error.HTTPError):
            signal = {"message": f"{e.code} {e.reason}", "http_status": e.code, "platform": "http"}
            if e.headers.get("retry-after"):
                signal["retry_after"] = int(e.headers["retry-after"]) * 1000
            return signal
        return {"message": str(e)}

    helix = Helix()
    results = []
    for n in (1, 2):
        payment = {"recipient": "0x00000000000000000000000000000000000000d1", "amount": 250000,
                   "idempotency_key": f"order-{n}"}
        results.append(with_helix(helix, pay, payment, failure_of))
    server.shutdown()
    print(json.dumps({"paid": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
