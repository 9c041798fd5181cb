"""Who may use the dashboard: anyone on this computer by default, others only with the access token.

The dashboard lists every experiment, deletes them, serves model bundles (which hold the training vocabulary)
and starts training. Bound to 127.0.0.1 (`.streamlit/config.toml`) only this computer reaches it. Binding it
to another address is sharing it, which must be deliberate: like Jupyter, the server then requires a token
(the TEXTCLF_TOKEN environment variable), given once per browser session as `?token=...` or typed in; without
a token set it refuses every page. Host names, framing, uploads and metrics are checked below the pages, by
dashboard/server_guard.py, which `require_access` installs.
"""

from __future__ import annotations

import hmac
import math
import os
import threading
import time
from collections import Counter

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from dashboard import server_guard

TOKEN_VARIABLE = "TEXTCLF_TOKEN"
LOCAL_ADDRESSES = frozenset({"127.0.0.1", "localhost", "::1"})
MIN_TOKEN_LENGTH = 16
# A token must also vary: its length times the entropy of its own characters (bits). `aaaaaaaaaaaaaaaa` has 0,
# `passwordpassword` 44, `secrets.token_urlsafe(24)` about 140. With one failed try a second (below), 64 bits
# take longer than the age of the universe to guess.
MIN_TOKEN_BITS = 64
FAILED_TRY_SECONDS = 1.0
_failed_tries = threading.Lock()
GRANTED = "access_granted"
_granted_sessions: set[str] = set()
# The page a server sends before its first page run carries no framing headers (dashboard/server_guard.py is
# installed by that run), so the page also checks for itself: inside another site's frame it empties itself.
FRAME_CHECK = """<script>
(function () {
  let foreign = false;
  try { foreign = window.top !== window.self && window.top.location.origin !== window.location.origin; }
  catch (error) { foreign = true; }
  if (foreign) {
    document.body.textContent = "This dashboard cannot be shown inside another site.";
  }
})();
</script>"""


def shared_address() -> str | None:
    """The address the server listens on when it is not this computer only (all interfaces when unset)."""
    address = (st.get_option("server.address") or "").strip()
    return None if address in LOCAL_ADDRESSES else address or "all network interfaces"


def may_use_gated(session_id: str | None) -> bool:
    """Whether the server may take uploads from this session (None: metrics, which name no session): always on
    this computer; on a shared server only from a session that gave the token (read by dashboard/server_guard)."""
    return shared_address() is None or session_id in _granted_sessions


def _let_in() -> None:
    st.session_state[GRANTED] = True
    context = get_script_run_ctx()
    if context is not None:
        _granted_sessions.add(context.session_id)


def token_bits(token: str) -> float:
    """Length times the Shannon entropy of the token's characters: a cheap lower bar that repeats and short
    alphabets fail (it does not see dictionary words, which is why the length bar stays too)."""
    counts = Counter(token)
    return -sum(n * math.log2(n / len(token)) for n in counts.values())


def strong_enough(token: str) -> bool:
    return len(token) >= MIN_TOKEN_LENGTH and token_bits(token) >= MIN_TOKEN_BITS


def _slow_down() -> None:
    """One failed try a second for the whole server, whatever the number of sessions guessing at once."""
    with _failed_tries:
        time.sleep(FAILED_TRY_SECONDS)


def require_access() -> None:
    """Stop the page unless the server is local, or this session has given the access token."""
    server_guard.install(may_use_gated)
    st.sidebar.html(FRAME_CHECK, unsafe_allow_javascript=True)
    address = shared_address()
    if address is None:
        return
    if st.session_state.get(GRANTED):
        _let_in()
        return
    token = os.environ.get(TOKEN_VARIABLE, "")
    if not strong_enough(token):
        st.error(f"This dashboard listens on {address}, where others on the network can reach it, and no access "
                 f"token of at least {MIN_TOKEN_LENGTH} varied characters is set, so it serves nothing. To keep it on "
                 "this computer, start it from the project folder (its .streamlit/config.toml binds 127.0.0.1) "
                 f"or with --server.address 127.0.0.1; to share it, set {TOKEN_VARIABLE} to a long random "
                 "secret (python -c \"import secrets; print(secrets.token_urlsafe(24))\") and give that to the "
                 "people you share it with.")
        st.stop()
    given = st.query_params.get("token") or st.text_input("Access token", type="password",
                                                           help=f"the {TOKEN_VARIABLE} this server was started with")
    if given and hmac.compare_digest(given.encode(), token.encode()):
        _let_in()
        st.query_params.pop("token", None)
        st.rerun()
    if given:
        _slow_down()
        st.error("That access token is not the one this server was started with.")
    st.stop()
