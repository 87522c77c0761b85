"""A headless visitor: Streamlit's own websocket protocol (ws://host:port/_stcore/stream, protobuf BackMsg and
ForwardMsg, as the 1.67 frontend speaks it), so a page can be run on a live server without a browser. Used by the
start-up warm-up (frame/warmup.py), the load benchmark (bench/load.py) and the tests that visit a live server.
Not a page."""

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode

from frame import streamlit_compat as compat

WIDGET_FIELD = {"selectbox": "string_value", "radio": "string_value", "text_input": "string_value",
                "number_input": "double_value", "checkbox": "bool_value", "multiselect": "string_array_value",
                "button_group": "string_array_value", "button": "trigger_value"}


def client_state(query: str, page_name="", page_hash="", widgets=(), url=""):
    """The ClientState of a rerun_script BackMsg as the frontend fills it: a first load names the page by its URL
    path (page_name) and sends no widget states; later reruns name it by its script hash."""
    BackMsg = compat.protocol().BackMsg

    m = BackMsg()
    cs = m.rerun_script
    cs.query_string, cs.page_name, cs.page_script_hash = query, page_name, page_hash
    cs.widget_states.widgets.extend(widgets)
    cs.context_info.timezone, cs.context_info.locale, cs.context_info.url = "UTC", "en-US", url
    return m.SerializeToString()


def widget_state(wid: str, kind: str, proto, value):
    """One widget's new value, in the field its kind uses (streamlit/elements/widgets/*: value_type=...)."""
    WidgetState = compat.protocol().WidgetState

    s = WidgetState(id=wid)
    field = "string_array_value" if kind == "slider" and proto.options else WIDGET_FIELD.get(kind, "double_array_value")
    vals = value if isinstance(value, (list, tuple)) else [value]
    if field.endswith("array_value"):
        getattr(s, field).data.extend(str(v) if field.startswith("string") else float(v) for v in vals)
    else:
        setattr(s, field, {"string_value": str, "double_value": float, "bool_value": bool, "trigger_value": bool}[field](value))
    return s


class Session:
    """One websocket session; run() sends a rerun_script and reads ForwardMsgs until that run finished."""

    def __init__(self, url: str, defaults: dict | None = None, headers: dict | None = None):
        """url: the server's http://host:port[/base]; defaults: {page: {widget key: value}}, the settings a step
        records for a page before its link's own (what the page shows when the link names nothing); headers: sent
        with the websocket's handshake (the page reads them as st.context.headers)."""
        self.url, self.ws, self.pages, self.page_hash, self.query, self.widgets = url, None, {}, "", "", {}
        self.defaults, self.headers = defaults or {}, headers or {}

    async def open(self):
        from websockets.asyncio.client import connect

        ws_url = self.url.replace("http://", "ws://") + "/_stcore/stream"
        self.ws = await connect(ws_url, subprotocols=["streamlit"], max_size=None, ping_interval=None,
                                open_timeout=60, additional_headers=self.headers)

    async def close(self):
        if self.ws is not None:
            await self.ws.close()

    async def step(self, step, settings: dict):
        """Do one step of a scenario; returns (seconds to the finished run, its texts, its captions, its errors)."""
        if step[0] == "change":  # the current page, the query string the server last set, one widget's new value
            _, key, value = step
            if key not in self.widgets:
                return None, [], [], [f"no widget with key {key!r} in the last run (have: {sorted(self.widgets)})"]
            wid, kind, proto = self.widgets[key]
            settings[key] = value
            return await self.run(client_state(self.query, page_hash=self.page_hash,
                                               widgets=[widget_state(wid, kind, proto, value)]))
        page, query = step
        settings.clear()
        settings.update(self.defaults.get(page, {}), **query)
        self.query = urlencode(query, doseq=True)
        if not self.pages:  # the first load: a link to /page?query
            return await self.run(client_state(self.query, page_name=page, url=f"{self.url}/{page}"))
        if page not in self.pages:
            return None, [], [], [f"no page {page!r} in the navigation (have: {sorted(self.pages)})"]
        return await self.run(client_state(self.query, page_hash=self.pages[page]))  # a page switch

    async def run(self, msg: bytes):
        proto = compat.protocol()
        Alert, ForwardMsg, Markdown = proto.Alert, proto.ForwardMsg, proto.Markdown

        texts, captions, errors, widgets = [], [], [], {}
        t0 = time.monotonic()
        await self.ws.send(msg)
        while True:
            f = ForwardMsg.FromString(await self.ws.recv())
            kind = f.WhichOneof("type")
            if kind == "new_session":
                texts, captions, errors, widgets = [], [], [], {}  # (a run stopped for a rerun starts over)
                self.page_hash = f.new_session.page_script_hash
            elif kind == "navigation":
                for p in f.navigation.app_pages:
                    self.pages[p.url_pathname] = self.pages[p.page_name.lower().replace(" ", "_")] = p.page_script_hash
                self.page_hash = f.navigation.page_script_hash
            elif kind == "page_info_changed":
                self.query = f.page_info_changed.query_string
            elif kind == "page_not_found":
                errors.append(f"page not found: {f.page_not_found.page_name!r}")
            elif kind == "session_event" and f.session_event.HasField("script_compilation_exception"):
                errors.append(f"compile error: {f.session_event.script_compilation_exception.message[:200]}")
            elif kind == "delta" and f.delta.WhichOneof("type") == "new_element":
                el = f.delta.new_element
                ek = el.WhichOneof("type")
                sub = getattr(el, ek)
                if ek == "exception":
                    errors.append(f"exception: {sub.type} {sub.message[:200]}".strip())
                elif ek == "alert":
                    texts.append(sub.body)
                    if sub.format == Alert.ERROR:
                        errors.append(f"st.error: {sub.body[:200]}")
                elif ek in ("markdown", "heading", "text", "code"):
                    texts.append(sub.body)
                    if ek == "markdown" and sub.element_type == Markdown.CAPTION:
                        captions.append(sub.body)
                wid = getattr(sub, "id", "") if ek not in ("exception", "alert") else ""
                if isinstance(wid, str) and wid.startswith("$$ID"):
                    key = compat.user_key(wid)
                    if key:
                        widgets[key] = (wid, ek, sub)
            elif kind == "script_finished":
                if f.script_finished == ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                    continue
                if f.script_finished == ForwardMsg.FINISHED_WITH_COMPILE_ERROR:
                    errors.append("script finished with a compile error")
                self.widgets = widgets
                return time.monotonic() - t0, texts, captions, errors


async def visit_once(url: str, step, timeout: float = 900) -> tuple:
    """One visitor, one step (a link: (page, {widget key: value})) in a session of its own, opened and closed here:
    the step's (seconds to the finished run, texts, captions, errors); TimeoutError past `timeout` seconds."""
    s = Session(url)
    await s.open()
    try:
        return await asyncio.wait_for(s.step(step, {}), timeout=timeout)
    finally:
        await s.close()


def run_to_end(coro):
    """asyncio.run in a thread of its own, for synchronous callers whose thread may already run an event loop (the
    browser tests' Playwright keeps one)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()
