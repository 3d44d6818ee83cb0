"""The shared chat script (templates/static/chat/core.js) in headless Chromium: the Markdown it
renders for the widget (tables, images under the origin policy, links) and the turn client renewing
an expired session."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page


@pytest.fixture
def core(page: Page) -> Page:
    page.goto("/login/")
    page.add_script_tag(url="/static/chat/core.js")
    page.wait_for_function("!!window.SwitchboardChat")
    return page


RENDER = """([texts, options]) => texts.map(text => {
  const root = document.createElement("div");
  root.appendChild(window.SwitchboardChat.renderMarkdown(text, document, options));
  return root.outerHTML;
})"""


def test_tables_render_as_elements_with_their_alignment(core):
    texts = [
        "| Plan | Price | Note |\n|:--|--:|:-:|\n| **Gold** | 10 | a \\| b |\n| <b>x</b> | 2 |",
        "| a | b |\n|---|",  # a rule that does not match the header: text
        "| a | b |",  # mid-stream, before its rule: text
    ]
    table, mismatched, streaming = core.evaluate(RENDER, [texts, None])
    assert table == (
        '<div><div class="table"><table><thead><tr><th style="text-align: left;">Plan</th>'
        '<th style="text-align: right;">Price</th><th style="text-align: center;">Note</th></tr></thead>'
        '<tbody><tr><td style="text-align: left;"><strong>Gold</strong></td><td style="text-align: right;">10</td>'
        '<td style="text-align: center;">a | b</td></tr><tr><td style="text-align: left;">&lt;b&gt;x&lt;/b&gt;</td>'
        '<td style="text-align: right;">2</td><td style="text-align: center;"></td></tr></tbody></table></div></div>'
    )
    assert mismatched == "<div><p>| a | b |<br>|---|</p></div>"
    assert streaming == "<div><p>| a | b |</p></div>"


def test_images_load_only_from_the_own_origin_unless_external_ones_are_allowed(core, live_server_url):
    texts = [
        "![logo](/static/logo.png)",
        f"![same]({live_server_url}/media/a.png)",
        "![remote](https://cdn.example/x.png)",
        "![](data:image/png;base64,iVBORw0KGgo=)",
        "![js](javascript:alert(1))",
        "![proto](//evil.example/x.png)",
        "![plain](http://cdn.example/x.png)",
    ]
    strict = core.evaluate(RENDER, [texts, None])
    assert strict == [
        '<div><p><img src="/static/logo.png" alt="logo" loading="lazy" referrerpolicy="no-referrer"></p></div>',
        f'<div><p><img src="{live_server_url}/media/a.png" alt="same" loading="lazy" referrerpolicy="no-referrer">'
        "</p></div>",
        "<div><p>remote</p></div>",
        "<div><p></p></div>",
        "<div><p>js</p></div>",
        "<div><p>proto</p></div>",
        "<div><p>plain</p></div>",
    ]
    allowed = core.evaluate(RENDER, [texts, {"allowExternalImages": True}])
    assert allowed[2] == (
        '<div><p><img src="https://cdn.example/x.png" alt="remote" loading="lazy" referrerpolicy="no-referrer">'
        "</p></div>"
    )
    assert allowed[3:] == strict[3:]  # data:, javascript:, protocol-relative and plain http never load


def test_links_quotes_and_rules(core):
    texts = [
        "[site](https://example.org) [mail](mailto:a@example.org) [bad](javascript:alert(1)) [ftp](ftp://x)",
        "> quoted **text**\n> more\n\n---\n\nafter",
    ]
    links, quote = core.evaluate(RENDER, [texts, None])
    assert links == (
        '<div><p><a href="https://example.org" target="_blank" rel="noopener noreferrer nofollow">site</a> '
        '<a href="mailto:a@example.org" target="_blank" rel="noopener noreferrer nofollow">mail</a> '
        "[bad](javascript:alert(1)) [ftp](ftp://x)</p></div>"
    )
    assert quote == "<div><blockquote><p>quoted <strong>text</strong><br>more</p></blockquote><hr><p>after</p></div>"


def test_the_turn_client_renews_an_expired_session_once(core):
    result = core.evaluate(
        """async () => {
      const { TurnClient } = window.SwitchboardChat;
      const seen = [];
      let token = "old";
      const answers = { old: [401, "session_expired"], new: [200, null] };
      const fakeFetch = async (url, init) => {
        seen.push(init.headers.Authorization);
        const [status, code] = answers[init.headers.Authorization.slice(7)];
        const body = code ? { error: { code, message: "expired" } } : { data: [] };
        return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
      };
      const renewals = [];
      const client = new TurnClient({ fetch: fakeFetch, authorization: renew => {
        renewals.push(renew);
        if (renew) token = "new";
        return Promise.resolve({ Authorization: "Bearer " + token });
      } });
      const body = await client.getJson("/widget/v1/conversations");
      answers.new = [401, "session_invalid"];
      let error = null;
      try { await client.getJson("/widget/v1/conversations"); } catch (e) { error = [e.code, e.status]; }
      return { body, seen, renewals, error };
    }"""
    )
    assert result["body"] == {"data": []}
    assert result["seen"][:2] == ["Bearer old", "Bearer new"]
    # Refused again after one renewal: the error is the caller's, no endless loop.
    assert result["seen"][2:] == ["Bearer new", "Bearer new"] and result["renewals"] == [False, True, False, True]
    assert result["error"] == ["session_invalid", 401]
