"""skiplab's server with its warm-up started when the server starts (not at the first visit):

    streamlit run serve.py

The same app as `streamlit run app.py` (app.py is the page script), served through Streamlit's public st.App, whose
lifespan hook starts the warm-up (frame/warmup.py) as soon as the server accepts connections, and whose route
/warmup reports its progress as JSON ({"state": "warming up" | "ready" | "off", "done": n, "total": m})."""

from contextlib import asynccontextmanager

import streamlit as st
from starlette.responses import JSONResponse
from starlette.routing import Route

from frame import warmup


@asynccontextmanager
async def lifespan(_app):
    warmup.start_when_served()
    yield


async def warmup_status(_request):
    return JSONResponse(warmup.progress())


app = st.App("app.py", lifespan=lifespan, routes=[Route("/warmup", warmup_status)])
