/*
 * The chat parts shared by the preview of the bots pages and the widget: a Server-Sent Events
 * parser over fetch(), the turn client (send a message, follow its events, resume a dropped stream
 * with the last event id so nothing is missed or shown twice), a safe Markdown renderer and the
 * {{variable}} filler. Exposed as window.SwitchboardChat.
 *
 * Model output is untrusted: it only ever reaches the page as text nodes (textContent,
 * createTextNode). The Markdown renderer builds elements itself and never parses HTML.
 */
(function (root) {
  "use strict";

  // -- Server-Sent Events ------------------------------------------------------------------------

  /** Incremental SSE parser: push() text as it arrives, get back the complete events. */
  function SSEParser() {
    this.buffer = "";
    this.data = [];
    this.event = "";
    this.id = null;
  }

  SSEParser.prototype.push = function (text) {
    var events = [];
    var pattern = /\r\n|\r|\n/g;
    var start = 0;
    var match;
    this.buffer += text;
    while ((match = pattern.exec(this.buffer)) !== null) {
      // A trailing "\r" may be the first half of "\r\n": wait for the next chunk.
      if (match[0] === "\r" && match.index === this.buffer.length - 1) break;
      this.line(this.buffer.slice(start, match.index), events);
      start = pattern.lastIndex;
    }
    this.buffer = this.buffer.slice(start);
    return events;
  };

  SSEParser.prototype.line = function (line, events) {
    if (line === "") {
      if (this.data.length) {
        events.push({ id: this.id, event: this.event || "message", data: this.data.join("\n") });
      }
      this.data = [];
      this.event = "";
      this.id = null;
      return;
    }
    if (line.charAt(0) === ":") return; // a comment (the server's keep-alive pings)
    var colon = line.indexOf(":");
    var field = colon < 0 ? line : line.slice(0, colon);
    var value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.charAt(0) === " ") value = value.slice(1);
    if (field === "data") this.data.push(value);
    else if (field === "event") this.event = value;
    else if (field === "id" && value.indexOf("\u0000") < 0) this.id = value;
  };

  // -- the API ------------------------------------------------------------------------------------

  function ApiError(message, code, param, status) {
    this.name = "ApiError";
    this.message = message;
    this.code = code || "error";
    this.param = param || null;
    this.status = status || 0;
  }
  ApiError.prototype = Object.create(Error.prototype);

  /** Seconds to wait from a Retry-After header (a number of seconds or an HTTP date), or null. */
  function retryAfter(response) {
    var value = response.headers && response.headers.get("Retry-After");
    if (!value) return null;
    var seconds = Number(value);
    if (!isFinite(seconds)) seconds = (Date.parse(value) - Date.now()) / 1000;
    return isFinite(seconds) ? Math.max(0, Math.ceil(seconds)) : null;
  }

  function errorFromResponse(response) {
    var wait = retryAfter(response);
    return response.text().then(function (text) {
      var body = null;
      try { body = JSON.parse(text); } catch (e) { /* not JSON */ }
      var error = body && body.error ? body.error : {};
      var result = new ApiError(error.message || ("The server answered " + response.status + "."),
                                error.code, error.param, response.status);
      result.retryAfter = wait;
      return result;
    }, function () {
      var result = new ApiError("The server answered " + response.status + ".", "http_" + response.status, null,
                                response.status);
      result.retryAfter = wait;
      return result;
    });
  }

  function delay(ms) {
    return new Promise(function (resolve) { setTimeout(resolve, ms); });
  }

  /**
   * One chat turn: send it, read its events, resume the stream after a drop.
   *
   * options: apiRoot ("/api/v1/"), headers (added to every request: the CSRF token in the
   * page, an Authorization header in tests), authorization (a function returning more headers,
   * or a promise of them, for each request: called with true to get fresh ones after a 401
   * session_expired or session_invalid, and the request is then sent once more), fetch,
   * retryDelays (ms before each reconnection attempt), onEvent(name, data, id), onStatus(status, detail).
   */
  function TurnClient(options) {
    options = options || {};
    this.apiRoot = options.apiRoot || "/api/v1/";
    this.headers = options.headers || {};
    this.authorization = options.authorization || null;
    this.fetch = options.fetch || function (url, init) { return root.fetch(url, init); };
    this.retryDelays = options.retryDelays || [500, 1000, 2000, 4000, 8000, 15000];
    this.onEvent = options.onEvent || function () {};
    this.onStatus = options.onStatus || function () {};
    this.controller = typeof AbortController === "function" ? new AbortController() : null;
    this.messageId = null;
    this.conversationId = null;
    this.lastEventId = null;
    this.ended = false;
    this.aborted = false;
    this.reconnects = 0;
  }

  var RENEWABLE = { session_expired: true, session_invalid: true };

  TurnClient.prototype.request = async function (url, init, renewed) {
    init = init || {};
    var headers = {};
    var name;
    for (name in this.headers) headers[name] = this.headers[name];
    if (this.authorization) {
      var extra = await this.authorization(!!renewed);
      for (name in (extra || {})) headers[name] = extra[name];
    }
    for (name in (init.headers || {})) headers[name] = init.headers[name];
    var response = await this.fetch(url, {
      method: init.method || "GET", headers: headers, body: init.body, credentials: "same-origin",
      cache: "no-store",
      // Reading a stream stops with abort(); stop, confirm and feedback requests always go through.
      signal: this.controller && init.abortable !== false ? this.controller.signal : undefined
    });
    if (response.status === 401 && this.authorization && !renewed) {
      var code = null;
      try { code = ((await response.clone().json()).error || {}).code; } catch (e) { /* not JSON */ }
      if (RENEWABLE[code]) return this.request(url, init, true);
    }
    return response;
  };

  TurnClient.prototype.getJson = function (url) {
    return this.request(url, { abortable: false, headers: { "Accept": "application/json" } }).then(function (response) {
      if (!response.ok) return errorFromResponse(response).then(function (error) { throw error; });
      return response.json();
    });
  };

  TurnClient.prototype.postJson = function (url, payload) {
    return this.request(url, {
      method: "POST", body: JSON.stringify(payload === undefined ? {} : payload), abortable: false,
      headers: { "Content-Type": "application/json", "Accept": "application/json" }
    }).then(function (response) {
      if (!response.ok) return errorFromResponse(response).then(function (error) { throw error; });
      return response.json();
    });
  };

  /** POST the message; resolves when the turn has ended (message.end) or was abandoned. */
  TurnClient.prototype.send = function (chatUrl, payload) {
    var self = this;
    return this.request(chatUrl, {
      method: "POST", body: JSON.stringify(payload),
      headers: { "Content-Type": "application/json", "Accept": "text/event-stream, application/json" }
    }).then(function (response) {
      if (!response.ok) return errorFromResponse(response).then(function (error) { throw error; });
      self.messageId = response.headers.get("X-Message-Id") || self.messageId;
      self.conversationId = response.headers.get("X-Conversation-Id") || self.conversationId;
      self.onStatus("accepted", { messageId: self.messageId, conversationId: self.conversationId });
      return self.follow(response);
    });
  };

  /** Follow an already accepted turn from its first event (or after lastEventId). */
  TurnClient.prototype.resume = function (messageId, lastEventId) {
    this.messageId = messageId;
    this.lastEventId = lastEventId || null;
    return this.follow(null);
  };

  TurnClient.prototype.eventsUrl = function () {
    return this.apiRoot + "messages/" + encodeURIComponent(this.messageId) + "/events";
  };

  TurnClient.prototype.follow = async function (response) {
    var attempt = 0;
    for (;;) {
      if (response) {
        var progressed = false;
        try {
          progressed = await this.read(response);
        } catch (error) {
          if (error instanceof ApiError) throw error;
          // A network error or a cut stream: resumed below.
        }
        if (progressed) attempt = 0;
      }
      if (this.ended || this.aborted) return;
      if (!this.messageId) {
        throw new ApiError("The connection was lost before the server named the message.", "connection_lost");
      }
      if (attempt >= this.retryDelays.length) {
        throw new ApiError("Lost the connection to the server and could not reconnect.", "connection_lost");
      }
      this.onStatus("reconnecting", { attempt: attempt + 1 });
      await delay(this.retryDelays[attempt]);
      attempt += 1;
      if (this.aborted) return;
      response = null;
      var headers = { "Accept": "text/event-stream" };
      if (this.lastEventId) headers["Last-Event-ID"] = this.lastEventId;
      var next;
      try {
        next = await this.request(this.eventsUrl(), { headers: headers });
      } catch (error) {
        if (this.aborted) return;
        continue;
      }
      if (!next.ok) {
        if (next.status >= 500 || next.status === 429) continue;
        throw await errorFromResponse(next);
      }
      this.reconnects += 1;
      this.onStatus("reconnected", { attempt: attempt });
      response = next;
    }
  };

  /** Read one response body to its end; resolves whether any event arrived. */
  TurnClient.prototype.read = async function (response) {
    var reader = response.body.getReader();
    var decoder = new TextDecoder();
    var parser = new SSEParser();
    var progressed = false;
    try {
      for (;;) {
        var chunk = await reader.read();
        if (chunk.done) break;
        var events = parser.push(decoder.decode(chunk.value, { stream: true }));
        for (var i = 0; i < events.length; i++) {
          progressed = true;
          if (this.dispatch(events[i])) {
            try { reader.cancel(); } catch (e) { /* already closed */ }
            return progressed;
          }
        }
      }
    } finally {
      try { reader.releaseLock(); } catch (e) { /* a pending read holds it */ }
    }
    return progressed;
  };

  /** Handle one parsed event; true when the turn is over. */
  TurnClient.prototype.dispatch = function (event) {
    if (this.aborted) return true;
    var data;
    try { data = JSON.parse(event.data); } catch (e) { return false; }
    if (event.id) this.lastEventId = event.id;
    if (event.event === "message.start") {
      if (data.message_id) this.messageId = data.message_id;
      if (data.conversation_id) this.conversationId = data.conversation_id;
    }
    if (event.event === "message.end") this.ended = true;
    this.onEvent(event.event, data, event.id);
    return this.ended;
  };

  /** Ask the server to stop the turn; its message.end still arrives on the stream. */
  TurnClient.prototype.stop = function () {
    if (!this.messageId || this.ended) return Promise.resolve(null);
    return this.postJson(this.apiRoot + "messages/" + encodeURIComponent(this.messageId) + "/stop");
  };

  TurnClient.prototype.confirm = function (url, toolCallId, approve) {
    return this.postJson(url || (this.apiRoot + "messages/" + encodeURIComponent(this.messageId) + "/confirmations"),
                         { tool_call_id: toolCallId, approve: !!approve });
  };

  /** Stop reading (the turn itself goes on unless stop() was called). */
  TurnClient.prototype.abort = function () {
    this.aborted = true;
    if (this.controller) this.controller.abort();
  };

  // -- safe Markdown ------------------------------------------------------------------------------

  var INLINE = new RegExp([
    /(`+)([\s\S]*?[^`])\1(?!`)/.source,
    /\*\*([^*\n]+?)\*\*|__([^_\n]+?)__/.source,
    /\*([^*\s\n][^*\n]*?)\*/.source,
    /!\[([^\]\n]*)\]\(((?:[^()\s]|\([^()\s]*\))+)\)/.source,
    /\[([^\]\n]+)\]\(((?:[^()\s]|\([^()\s]*\))+)\)/.source
  ].join("|"), "g"); // a URL may hold one level of balanced parentheses
  var SAFE_LINK = /^(https?:\/\/|mailto:)/i;
  // A source marker: [1], [1, 2], [1][2] (two markers), and the full-width 【1】 and [1，2、3]
  // Chinese text uses. Up to three digits, so years like [2024] stay text.
  var MARKER = /[\[【]\s*\d{1,3}(?:\s*[,，、]\s*\d{1,3})*\s*[\]】]/g;
  var TABLE_RULE = /^\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$/;

  /**
   * Append `text` as text nodes; a number in a source marker becomes the node
   * options.citation(n) returns for it (null: the number stays text).
   */
  function appendText(doc, parent, text, options) {
    var citation = options && options.citation;
    if (!citation) {
      parent.appendChild(doc.createTextNode(text));
      return;
    }
    var pattern = new RegExp(MARKER.source, "g"); // own state: appendText may run inside another scan
    var last = 0;
    var match;
    while ((match = pattern.exec(text)) !== null) {
      var nodes = markerNodes(doc, match[0], citation);
      if (!nodes) continue;
      if (match.index > last) parent.appendChild(doc.createTextNode(text.slice(last, match.index)));
      nodes.forEach(function (node) { parent.appendChild(node); });
      last = pattern.lastIndex;
    }
    if (last < text.length) parent.appendChild(doc.createTextNode(text.slice(last)));
  }

  /** The nodes of one marker ("[1, 2]"), or null when none of its numbers has a source. */
  function markerNodes(doc, marker, citation) {
    var nodes = [];
    var linked = false;
    var last = 0;
    var number = /\d+/g;
    var match;
    while ((match = number.exec(marker)) !== null) {
      var node = citation(parseInt(match[0], 10));
      if (!node) continue;
      linked = true;
      nodes.push(doc.createTextNode(marker.slice(last, match.index)));
      nodes.push(node);
      last = number.lastIndex;
    }
    if (!linked) return null;
    nodes.push(doc.createTextNode(marker.slice(last)));
    return nodes;
  }

  /**
   * Whether an image at `url` may load: a path on this page's own origin (or an absolute URL
   * of it), or any https URL when options.allowExternalImages is set. Never data:, javascript:,
   * blob: or any other scheme, never protocol-relative URLs.
   */
  function imageAllowed(doc, url, options) {
    if (/^\/(?![\/\\])/.test(url)) return true;
    var view = doc.defaultView || root;
    var origin = (options && options.origin) || (view.location && view.location.origin);
    var parsed;
    try { parsed = new URL(url); } catch (e) { return false; }
    if (parsed.origin === origin && /^https?:$/.test(parsed.protocol)) return true;
    return !!(options && options.allowExternalImages) && parsed.protocol === "https:";
  }

  function appendInline(doc, parent, text, options) {
    var last = 0;
    var match;
    var pattern = new RegExp(INLINE.source, "g"); // own state: cells and quotes render inside a scan
    while ((match = pattern.exec(text)) !== null) {
      if (match.index > last) appendText(doc, parent, text.slice(last, match.index), options);
      var node;
      if (match[2] !== undefined) {
        node = doc.createElement("code");
        node.textContent = match[2];
      } else if (match[3] !== undefined || match[4] !== undefined) {
        node = doc.createElement("strong");
        appendText(doc, node, match[3] !== undefined ? match[3] : match[4], options);
      } else if (match[5] !== undefined) {
        node = doc.createElement("em");
        appendText(doc, node, match[5], options);
      } else if (match[7] !== undefined) {
        if (imageAllowed(doc, match[7], options)) {
          node = doc.createElement("img");
          node.setAttribute("src", match[7]);
          node.setAttribute("alt", match[6]);
          node.setAttribute("loading", "lazy");
          node.setAttribute("referrerpolicy", "no-referrer");
        } else {
          node = doc.createTextNode(match[6]); // the description only: the image is never fetched
        }
      } else if (SAFE_LINK.test(match[9])) {
        node = doc.createElement("a");
        node.setAttribute("href", match[9]);
        node.setAttribute("target", "_blank");
        node.setAttribute("rel", "noopener noreferrer nofollow");
        node.textContent = match[8];
      } else {
        node = doc.createTextNode(match[0]);
      }
      parent.appendChild(node);
      last = pattern.lastIndex;
    }
    if (last < text.length) appendText(doc, parent, text.slice(last), options);
  }

  function appendLines(doc, parent, lines, options) {
    for (var i = 0; i < lines.length; i++) {
      if (i > 0) parent.appendChild(doc.createElement("br"));
      appendInline(doc, parent, lines[i], options);
    }
  }

  /** The cells of a table row: "| a | b \| c |" is ["a", "b | c"]. */
  function tableCells(line) {
    var text = line.trim();
    if (text.charAt(0) === "|") text = text.slice(1);
    if (text.charAt(text.length - 1) === "|" && text.charAt(text.length - 2) !== "\\") text = text.slice(0, -1);
    var cells = [];
    var cell = "";
    for (var i = 0; i < text.length; i++) {
      var c = text.charAt(i);
      if (c === "\\" && text.charAt(i + 1) === "|") { cell += "|"; i += 1; }
      else if (c === "|") { cells.push(cell.trim()); cell = ""; }
      else cell += c;
    }
    cells.push(cell.trim());
    return cells;
  }

  function tableAlignments(rule) {
    return tableCells(rule).map(function (cell) {
      var left = cell.charAt(0) === ":";
      var right = cell.charAt(cell.length - 1) === ":";
      return left && right ? "center" : right ? "right" : left ? "left" : "";
    });
  }

  function tableRow(doc, cells, tag, alignments, options) {
    var row = doc.createElement("tr");
    for (var i = 0; i < alignments.length; i++) {
      var cell = doc.createElement(tag);
      if (alignments[i]) cell.style.textAlign = alignments[i];
      appendInline(doc, cell, cells[i] || "", options);
      row.appendChild(cell);
    }
    return row;
  }

  /**
   * A DocumentFragment for `text`: paragraphs, line breaks, headings, lists, quotes, rules,
   * GitHub-style tables, fenced code, `code`, **bold**, *italic*, http(s) and mailto links, and
   * images under the policy of imageAllowed (others show their description). Unfinished
   * constructs (mid-stream) degrade to text. Built with createElement/createTextNode only: raw
   * HTML in the text stays text.
   *
   * options.citation(n), when given, returns the node for source marker number n, or null to
   * leave that number as text (markers in code stay text). options.allowExternalImages and
   * options.origin: see imageAllowed.
   */
  function renderMarkdown(text, doc, options) {
    doc = doc || root.document;
    var fragment = doc.createDocumentFragment();
    var lines = String(text || "").replace(/\r\n?/g, "\n").split("\n");
    var i = 0;
    var paragraph = [];
    function flush() {
      if (!paragraph.length) return;
      var p = doc.createElement("p");
      appendLines(doc, p, paragraph, options);
      fragment.appendChild(p);
      paragraph = [];
    }
    while (i < lines.length) {
      var line = lines[i];
      var fence = /^\s*(```|~~~)\s*([\w+-]*)\s*$/.exec(line);
      if (fence) {
        flush();
        var code = [];
        i += 1;
        while (i < lines.length && lines[i].trim() !== fence[1]) code.push(lines[i++]);
        i += 1; // the closing fence (or the end of the text while streaming)
        var pre = doc.createElement("pre");
        var codeEl = doc.createElement("code");
        if (fence[2]) codeEl.setAttribute("data-language", fence[2]);
        codeEl.textContent = code.join("\n");
        pre.appendChild(codeEl);
        fragment.appendChild(pre);
        continue;
      }
      var heading = /^(#{1,6})\s+(.*)$/.exec(line);
      if (heading) {
        flush();
        var h = doc.createElement("h" + Math.min(6, heading[1].length + 2));
        appendInline(doc, h, heading[2], options);
        fragment.appendChild(h);
        i += 1;
        continue;
      }
      if (/^\s{0,3}([-*_])(\s*\1){2,}\s*$/.test(line)) {
        flush();
        fragment.appendChild(doc.createElement("hr"));
        i += 1;
        continue;
      }
      if (line.indexOf("|") >= 0 && i + 1 < lines.length && TABLE_RULE.test(lines[i + 1]) &&
          lines[i + 1].indexOf("-") >= 0 && tableCells(line).length === tableCells(lines[i + 1]).length) {
        flush();
        var alignments = tableAlignments(lines[i + 1]);
        var wrap = doc.createElement("div");
        wrap.className = "table";
        var table = doc.createElement("table");
        var head = doc.createElement("thead");
        head.appendChild(tableRow(doc, tableCells(line), "th", alignments, options));
        table.appendChild(head);
        var body = doc.createElement("tbody");
        i += 2;
        while (i < lines.length && lines[i].trim() !== "" && lines[i].indexOf("|") >= 0) {
          body.appendChild(tableRow(doc, tableCells(lines[i]), "td", alignments, options));
          i += 1;
        }
        if (body.childNodes.length) table.appendChild(body);
        wrap.appendChild(table);
        fragment.appendChild(wrap);
        continue;
      }
      if (/^\s{0,3}>/.test(line)) {
        flush();
        var quoted = [];
        while (i < lines.length && /^\s{0,3}>/.test(lines[i])) quoted.push(lines[i++].replace(/^\s{0,3}> ?/, ""));
        var quote = doc.createElement("blockquote");
        quote.appendChild(renderMarkdown(quoted.join("\n"), doc, options));
        fragment.appendChild(quote);
        continue;
      }
      var bullet = /^\s*([-*+]|\d{1,9}[.)])\s+/.exec(line);
      if (bullet) {
        flush();
        var ordered = /\d/.test(bullet[1]);
        var list = doc.createElement(ordered ? "ol" : "ul");
        if (ordered && parseInt(bullet[1], 10) !== 1) list.setAttribute("start", String(parseInt(bullet[1], 10)));
        while (i < lines.length) {
          var item = /^\s*([-*+]|\d{1,9}[.)])\s+(.*)$/.exec(lines[i]);
          if (!item || /\d/.test(item[1]) !== ordered) break;
          var li = doc.createElement("li");
          appendInline(doc, li, item[2], options);
          list.appendChild(li);
          i += 1;
        }
        fragment.appendChild(list);
        continue;
      }
      if (line.trim() === "") flush();
      else paragraph.push(line);
      i += 1;
    }
    flush();
    return fragment;
  }

  // -- variables ------------------------------------------------------------------------------------

  // The same pattern and rendering as bots.prompting.fill_template on the server.
  var VARIABLE = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;

  /** `template` with each {{name}} replaced by values[name]; unknown names become "". */
  function fillTemplate(template, values) {
    return String(template || "").replace(VARIABLE, function (match, name) {
      var value = Object.prototype.hasOwnProperty.call(values || {}, name) ? values[name] : "";
      if (value === true) return "true";
      if (value === false) return "false";
      return value === null || value === undefined ? "" : String(value);
    });
  }

  // -- small DOM helpers ----------------------------------------------------------------------------

  function el(doc, tag, className, text) {
    var node = doc.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function formatMs(ms) {
    if (ms === null || ms === undefined) return null;
    return ms >= 1000 ? (ms / 1000).toFixed(ms >= 10000 ? 0 : 1) + " s" : Math.round(ms) + " ms";
  }

  root.SwitchboardChat = {
    SSEParser: SSEParser, ApiError: ApiError, errorFromResponse: errorFromResponse, TurnClient: TurnClient,
    renderMarkdown: renderMarkdown, imageAllowed: imageAllowed, fillTemplate: fillTemplate, el: el,
    formatMs: formatMs, delay: delay
  };
})(window);
