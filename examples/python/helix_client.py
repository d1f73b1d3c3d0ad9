#!/usr/bin/env python3
"""Helix from Python: a stdlib-only client of `helix serve`.

An agent in any language uses Helix the same way: when a payment call
fails, report the failure; apply the patches Helix answers (it has already
performed the repair, e.g. waited out Retry-After, fetched a fresh MPP
challenge, read the chain's nonce); retry the payment; report whether the
retry succeeded, which verifies the repair and teaches the gene.

    with_helix(pay, payment, failure_of)   # the loop, for your own `pay`

Command line (HELIX_URL, default http://127.0.0.1:8080; HELIX_API_TOKEN):

    helix_client.py repair --message "429 Too Many Requests" --status 429 \
        --recipient 0xabc... --amount 500000
    helix_client.py outcome REPAIR_ID --success
"""

import argparse
import json
import os
import sys
import urllib.error
import urllib.request


class HelixError(Exception):
    """The server refused or could not be reached."""


class Helix:
    def __init__(self, url=None, token=None, timeout=60):
        self.url = (url or os.environ.get("HELIX_URL", "http://127.0.0.1:8080")).rstrip("/")
        self.token = token or os.environ.get("HELIX_API_TOKEN", "")
        self.timeout = timeout

    def _post(self, path, body):
        req = urllib.request.Request(
            self.url + path,
            data=json.dumps(body).encode(),
            headers={"authorization": "Bearer " + self.token, "content-type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as r:
                return json.load(r)
        except urllib.error.HTTPError as e:
            detail = e.read().decode(errors="replace")
            raise HelixError(f"{path}: HTTP {e.code}: {detail}") from None
        except urllib.error.URLError as e:
            raise HelixError(f"{path}: {e.reason}") from None

    def repair(self, signal, payment=None):
        """Reports a failure; returns Helix's advice (see /openapi.json)."""
        return self._post("/v1/repair", {"signal": signal, "payment": payment or {}})

    def outcome(self, repair_id, success):
        """Reports the retry's result; returns the gene after learning."""
        return self._post(f"/v1/repair/{repair_id}/outcome", {"success": bool(success)})


# Patches that change a field of the payment view, and which field.
VIEW_FIELDS = {
    "nonce": ("nonce", "nonce"),
    "fee_token": ("token", "fee_token"),
    "currency": ("currency", "currency"),
    "amount": ("amount", "amount"),
    "endpoint": ("url", "endpoint"),
    "network": ("chain_id", "chain_id"),
    "deadline": ("ms", "deadline_ms"),
    "payment_method": ("id", "payment_method"),
    "idempotency_key": ("key", "idempotency_key"),
}


def apply_patch(payment, patch):
    """The payment with one patch applied. Patches with no field in the
    view (challenge, receipt, drop_call, split, use_existing) must be
    handled by your own `pay`: they are collected under "helix_patches"."""
    kind = patch["kind"]
    if kind in VIEW_FIELDS:
        src, dst = VIEW_FIELDS[kind]
        return dict(payment, **{dst: patch[src]})
    return dict(payment, helix_patches=payment.get("helix_patches", []) + [patch])


def with_helix(helix, pay, payment, failure_of, attempts=3):
    """Calls pay(payment); on failure asks Helix, applies its patches and
    retries, reporting each retry's outcome. failure_of(exception) turns
    your error into a signal dict ({"message", "http_status", ...})."""
    try:
        return pay(payment)
    except Exception as first:  # noqa: BLE001 - the caller's own errors
        error = first
    for _ in range(attempts):
        view = {k: v for k, v in payment.items() if k != "helix_patches"}
        advice = helix.repair(failure_of(error), view)
        done = advice.get("committed")
        if not done:
            raise error
        for patch in done["patches"]:
            payment = apply_patch(payment, patch)
        try:
            result = pay(payment)
        except Exception as again:  # noqa: BLE001
            helix.outcome(advice["repair_id"], False)
            error = again
            continue
        helix.outcome(advice["repair_id"], True)
        return result
    raise error


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("repair", help="report a failed payment call")
    r.add_argument("--message", required=True)
    r.add_argument("--status", type=int)
    r.add_argument("--platform")
    r.add_argument("--recipient")
    r.add_argument("--amount", type=int)
    o = sub.add_parser("outcome", help="report the retry's result")
    o.add_argument("repair_id", type=int)
    o.add_argument("--success", action="store_true")
    a = p.parse_args(argv)
    h = Helix()
    try:
        if a.cmd == "repair":
            signal = {"message": a.message}
            if a.status is not None:
                signal["http_status"] = a.status
            if a.platform:
                signal["platform"] = a.platform
            payment = {k: v for k, v in (("recipient", a.recipient), ("amount", a.amount)) if v is not None}
            out = h.repair(signal, payment)
        else:
            out = h.outcome(a.repair_id, a.success)
    except HelixError as e:
        print(f"helix: {e}", file=sys.stderr)
        return 2
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
