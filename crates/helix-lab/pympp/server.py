"""A paid endpoint served by pympp (Tempo's Python MPP SDK), for interop tests.

Configured by environment: RPC_URL, CHAIN_ID, RECIPIENT, CURRENCY, AMOUNT
(decimal string), PORT, MPP_SECRET_KEY. Serves GET /paid behind a real MPP
tempo/charge 402 and verifies the payment on chain.
"""

import json
import os

import httpx
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from mpp.methods.tempo import server as tempo
from mpp.server import Mpp
from mpp.server.decorator import pay


class AnvilShim(httpx.AsyncBaseTransport):
    """anvil 1.7.1 rejects the timeout parameter pympp adds to
    eth_sendRawTransactionSync; keep only the first parameter."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        try:
            msg = json.loads(body)
        except ValueError:
            msg = None
        if isinstance(msg, dict) and msg.get("method") == "eth_sendRawTransactionSync":
            msg["params"] = msg.get("params", [])[:1]
            body = json.dumps(msg).encode()
            headers = {k: v for k, v in request.headers.items() if k.lower() != "content-length"}
            request = httpx.Request(request.method, request.url, headers=headers, content=body)
        return await self.inner.handle_async_request(request)


rpc_url = os.environ["RPC_URL"]
mpp = Mpp(
    methods=tempo.charge(
        recipient=os.environ["RECIPIENT"],
        chain_id=int(os.environ["CHAIN_ID"]),
        rpc_url=rpc_url,
        currencies=[os.environ["CURRENCY"]],
        http_client=httpx.AsyncClient(transport=AnvilShim(), timeout=30),
    ),
    secret_key=os.environ["MPP_SECRET_KEY"],
    realm="helix-lab-pympp",
)
app = FastAPI()


@app.get("/paid")
@pay(mpp.charge(amount=os.environ.get("AMOUNT", "0.50")))
async def paid(request: Request, credential, receipt):
    return JSONResponse({"data": "paid content", "payer": getattr(receipt, "payer", None)})


@app.get("/health")
async def health():
    return {"ok": True}


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(os.environ["PORT"]), log_level="warning")
