/*
 * The preview chat of the bots pages: talks to a bot's draft through the streaming chat API.
 *
 * EventSource cannot POST, so turns are read with fetch() and a ReadableStream Server-Sent
 * Events parser. A dropped stream is resumed at GET /api/v1/messages/{id}/events with the last
 * event id, so nothing is missed or shown twice.
 *
 * Model output is untrusted: it only ever reaches the page as text nodes (textContent,
 * createTextNode). The small Markdown renderer below builds elements itself and never parses
 * HTML. Nothing in this file assigns innerHTML.
 *
 * Source markers the model writes ([1], [1, 2], 【1】) become buttons that jump to that source in
 * the answer's list of citations; a marker with no such source stays text.
 *
 * The parts it shares with the widget (SSEParser, TurnClient, renderMarkdown, fillTemplate, …)
 * live in chat/core.js (window.SwitchboardChat), which the page loads first; a page that adds this
 * script alone gets core.js loaded from beside it. Those parts and this file's own are also
 * reachable as window.SwitchboardPreview, where the browser tests drive them one by one.
 *
 * Its words come from the page: a JSON table (<script id="preview-text">) from each English text to
 * the same in the page's language, with %(name)s placeholders. A text the table lacks shows in
 * English.
 */
(function (root) {
  "use strict";

  function preview(core) {
    var SSEParser = core.SSEParser;
    var ApiError = core.ApiError;
    var TurnClient = core.TurnClient;
    var renderMarkdown = core.renderMarkdown;
    var fillTemplate = core.fillTemplate;
    var el = core.el;
    var formatMs = core.formatMs;

    // -- words --------------------------------------------------------------------------------------

    var TEXT = null;

    /** The page's table of texts, read once it is there; {} (English) without one. */
    function texts() {
      if (TEXT) return TEXT;
      var node = root.document && root.document.getElementById("preview-text");
      if (!node) return {};
      try { TEXT = JSON.parse(node.textContent) || {}; } catch (e) { TEXT = {}; }
      return TEXT;
    }

    /** `text` in the page's language, its %(name)s placeholders filled from `args`. */
    function t(text, args) {
      var table = texts();
      var found = Object.prototype.hasOwnProperty.call(table, text) && typeof table[text] === "string" && table[text];
      if (!found && !args) return text; // e.g. an API message, shown as it came
      return (found || text).replace(/%(?:\((\w+)\)s|%)/g, function (match, name) {
        if (!name) return "%";
        return args && args[name] !== undefined && args[name] !== null ? String(args[name]) : match;
      });
    }

    /** An error's message in the page's language: the texts core.js raises are in the table; the
     *  API's own messages are English by design and stay as they are. */
    function errorText(error) {
      var message = error && error.message ? String(error.message) : "";
      var answered = /^The server answered (\d+)\.$/.exec(message);
      if (answered) return t("The server answered %(status)s.", { status: answered[1] });
      return message ? t(message) : t("Something went wrong.");
    }

    // -- the page -----------------------------------------------------------------------------------

    function csrfToken(doc) {
      var headers = doc.body && doc.body.getAttribute("hx-headers");
      if (headers) {
        try {
          var token = JSON.parse(headers)["X-CSRFToken"];
          if (token) return token;
        } catch (e) { /* fall back to the cookie */ }
      }
      var match = /(?:^|;\s*)csrftoken=([^;]+)/.exec(doc.cookie || "");
      return match ? decodeURIComponent(match[1]) : "";
    }

    function jsonText(value) {
      try { return JSON.stringify(value, null, 2); } catch (e) { return String(value); }
    }

    /** The assistant's side of one turn on the page. */
    function AssistantBubble(chat) {
      var doc = chat.doc;
      this.chat = chat;
      this.doc = doc;
      this.node = el(doc, "div", "chat-message assistant");
      this.body = el(doc, "div", "bubble");
      this.flow = el(doc, "div", "flow");
      this.status = el(doc, "div", "status small muted", t("Thinking…"));
      this.citations = el(doc, "div", "citations small");
      this.footer = el(doc, "div", "meta small muted");
      this.body.appendChild(this.flow);
      this.body.appendChild(this.status);
      this.node.appendChild(this.body);
      this.node.appendChild(this.citations);
      this.node.appendChild(this.footer);
      this.segments = [];
      this.segment = null;   // {node, text} of the step being generated
      this.tools = {};
      this.pending = false;
      this.sources = [];     // the citations shown, in order: marker [n] is sources[n - 1]
      this.sourceItems = []; // their list items
      this.sourceList = null;
    }

    AssistantBubble.prototype.currentSegment = function () {
      if (!this.segment) {
        this.segment = { node: el(this.doc, "div", "text"), text: "" };
        this.segments.push(this.segment);
        this.flow.appendChild(this.segment.node);
      }
      return this.segment;
    };

    AssistantBubble.prototype.append = function (text) {
      this.setStatus("");
      this.currentSegment().text += text;
      this.scheduleRender();
    };

    /** message.reset: the step is generated again from the start. */
    AssistantBubble.prototype.reset = function (data) {
      if (this.segment) {
        this.segment.text = "";
        this.scheduleRender();
      }
      var reason = data && data.reason;
      if (reason && reason !== "worker_restarted") {
        this.setStatus(data.retry_in
          ? t("The model call failed (%(reason)s); trying again in %(wait)s…",
              { reason: reason, wait: formatMs(data.retry_in * 1000) })
          : t("The model call failed (%(reason)s); trying again…", { reason: reason }));
      } else {
        this.setStatus(t("Starting this step again…"));
      }
    };

    /** A tool round ends the step: the next text goes after the tool lines. */
    AssistantBubble.prototype.closeSegment = function () {
      this.flush();
      this.segment = null;
    };

    AssistantBubble.prototype.scheduleRender = function () {
      if (this.pending) return;
      this.pending = true;
      var self = this;
      var raf = root.requestAnimationFrame || function (fn) { return setTimeout(fn, 16); };
      raf(function () { self.flush(); });
    };

    AssistantBubble.prototype.flush = function () {
      this.pending = false;
      for (var i = 0; i < this.segments.length; i++) {
        var segment = this.segments[i];
        if (segment.rendered === segment.text) continue;
        segment.rendered = segment.text;
        segment.node.replaceChildren(renderMarkdown(segment.text, this.doc, this.markdownOptions()));
      }
      this.chat.scrollToEnd();
    };

    AssistantBubble.prototype.markdownOptions = function () {
      return this.sources.length ? { citation: this.citationMarker.bind(this) } : null;
    };

    /** The button for source marker `n`, or null when this answer has no source `n`. */
    AssistantBubble.prototype.citationMarker = function (n) {
      var source = this.sources[n - 1];
      if (!source) return null;
      var self = this;
      var label = t("Source %(n)s: %(name)s", { n: n, name: source.document_name || t("document") });
      var button = el(this.doc, "button", "cite", String(n));
      button.setAttribute("type", "button");
      button.setAttribute("data-cite", String(n));
      button.setAttribute("title", label);
      button.setAttribute("aria-label", label);
      button.addEventListener("click", function (event) {
        if (event && event.preventDefault) event.preventDefault();
        self.showSource(n);
      });
      return button;
    };

    /** Open the sources, scroll source `n` into view and highlight it. */
    AssistantBubble.prototype.showSource = function (n) {
      var item = this.sourceItems[n - 1];
      if (!item) return;
      if (this.sourceList) this.sourceList.open = true;
      this.sourceItems.forEach(function (other) { other.classList.remove("cited"); });
      void item.offsetWidth; // restart the highlight when the same source is chosen again
      item.classList.add("cited");
      if (item.scrollIntoView) item.scrollIntoView({ block: "nearest", behavior: "smooth" });
      if (item.focus) item.focus({ preventScroll: true });
    };

    AssistantBubble.prototype.setStatus = function (text) {
      this.status.textContent = text || "";
      this.status.hidden = !text;
    };

    AssistantBubble.prototype.toolLine = function (id, name) {
      var line = this.tools[id];
      if (line) return line;
      var node = el(this.doc, "div", "tool-line small");
      var title = el(this.doc, "span", "tool-title");
      var details = el(this.doc, "details", "tool-details");
      var summary = el(this.doc, "summary", null, t("details"));
      details.appendChild(summary);
      node.appendChild(title);
      node.appendChild(details);
      this.flow.appendChild(node);
      line = this.tools[id] = { node: node, title: title, details: details, name: name, actions: null };
      return line;
    };

    AssistantBubble.prototype.toolCall = function (data) {
      this.closeSegment();
      var line = this.toolLine(data.tool_call_id, data.name);
      line.title.textContent = "⚙ " + t("Calling %(name)s…", { name: data.name });
      var args = el(this.doc, "pre", "code", jsonText(data.arguments || {}));
      line.details.appendChild(el(this.doc, "div", "muted", t("Arguments")));
      line.details.appendChild(args);
      this.setStatus("");
    };

    AssistantBubble.prototype.confirmationRequired = function (data) {
      var self = this;
      var line = this.toolLine(data.tool_call_id, data.name);
      line.title.textContent = "⚠ " + t("%(name)s needs your approval", { name: data.name });
      line.node.classList.add("awaiting");
      if (line.actions) return;
      var actions = line.actions = el(this.doc, "div", "tool-actions");
      var approve = el(this.doc, "button", "primary small", t("Approve"));
      var deny = el(this.doc, "button", "danger small", t("Deny"));
      approve.type = deny.type = "button";
      var note = el(this.doc, "span", "small muted");
      function decide(ok) {
        approve.disabled = deny.disabled = true;
        note.textContent = ok ? t("Approving…") : t("Denying…");
        self.chat.confirm(self, data.confirm_url, data.tool_call_id, ok).then(function () {
          actions.replaceChildren(el(self.doc, "span", "small muted", ok ? t("Approved") : t("Denied")));
          line.node.classList.remove("awaiting");
        }, function (error) {
          approve.disabled = deny.disabled = false;
          note.textContent = errorText(error);
          note.className = "small error";
        });
      }
      approve.addEventListener("click", function () { decide(true); });
      deny.addEventListener("click", function () { decide(false); });
      actions.appendChild(approve);
      actions.appendChild(deny);
      actions.appendChild(note);
      line.node.insertBefore(actions, line.details);
      this.setStatus(t("Waiting for your decision…"));
    };

    AssistantBubble.prototype.toolResult = function (data) {
      var line = this.toolLine(data.tool_call_id, data.name);
      var took = formatMs(data.duration_ms);
      var outcome = data.ok ? data.name
        : data.error ? t("%(name)s failed (%(error)s)", { name: data.name, error: data.error })
          : t("%(name)s failed", { name: data.name });
      line.title.textContent = (data.ok ? "✓ " : "✗ ") + outcome + (took ? " · " + took : "");
      line.node.classList.remove("awaiting");
      line.node.classList.add(data.ok ? "ok" : "failed");
      if (line.actions) line.actions.hidden = true;
      if (data.result) {
        line.details.appendChild(el(this.doc, "div", "muted", t("Result")));
        line.details.appendChild(el(this.doc, "pre", "code", data.result));
      }
      this.setStatus(t("Thinking…"));
    };

    AssistantBubble.prototype.showCitations = function (citations) {
      this.citations.replaceChildren();
      this.sources = citations || [];
      this.sourceItems = [];
      this.sourceList = null;
      if (this.sources.length) this.citations.appendChild(this.sourceDetails(this.sources));
      this.rerender(); // markers link only to the sources this answer has
    };

    /** The collapsible, numbered list of sources; its items are kept for the markers to jump to. */
    AssistantBubble.prototype.sourceDetails = function (citations) {
      var details = this.sourceList = el(this.doc, "details");
      details.appendChild(el(this.doc, "summary", null, t("Sources (%(count)s)", { count: citations.length })));
      var list = el(this.doc, "ol");
      citations.forEach(function (c, index) {
        var item = el(this.doc, "li");
        item.setAttribute("data-source", String(index + 1));
        item.setAttribute("tabindex", "-1");
        this.sourceItems.push(item);
        item.appendChild(el(this.doc, "strong", null, c.document_name || t("document")));
        var where = [];
        if (c.page) where.push(t("page %(page)s", { page: c.page }));
        if (typeof c.score === "number") where.push(t("score %(score)s", { score: c.score.toFixed(3) }));
        if (where.length) item.appendChild(el(this.doc, "span", "muted", " · " + where.join(" · ")));
        if (c.snippet) item.appendChild(el(this.doc, "div", "muted", c.snippet));
        list.appendChild(item);
      }, this);
      details.appendChild(list);
      return details;
    };

    AssistantBubble.prototype.rerender = function () {
      this.segments.forEach(function (segment) { segment.rendered = null; });
      this.flush();
    };

    AssistantBubble.prototype.showError = function (message, code) {
      var box = el(this.doc, "div", "error", message || t("Something went wrong."));
      if (code) box.appendChild(el(this.doc, "code", null, " " + code));
      this.body.appendChild(box);
      this.setStatus("");
    };

    AssistantBubble.prototype.end = function (data, messageId, conversationId) {
      var shown = this.segments.map(function (s) { return s.text; }).join("");
      if (typeof data.content === "string" && data.content !== shown) {
        // The stored answer is authoritative (e.g. an answer replayed from an expired stream).
        this.segments.forEach(function (s) { s.node.remove(); });
        this.segments = [];
        this.segment = null;
        this.currentSegment().text = data.content;
      }
      this.flush();
      if (data.state === "failed" && data.error && !this.body.querySelector(".error")) {
        this.showError(data.error.message, data.error.code);
      }
      this.setStatus(data.state === "cancelled" ? t("Stopped.") : "");
      if (data.citations) this.showCitations(data.citations);
      var parts = [];
      var latency = data.latency || {};
      if (formatMs(latency.queue_ms)) parts.push(t("queue %(time)s", { time: formatMs(latency.queue_ms) }));
      if (formatMs(latency.ttft_ms)) parts.push(t("first token %(time)s", { time: formatMs(latency.ttft_ms) }));
      if (formatMs(latency.total_ms)) parts.push(t("total %(time)s", { time: formatMs(latency.total_ms) }));
      var usage = data.usage || {};
      if (usage.total_tokens !== undefined) {
        parts.push(t("%(input)s in / %(output)s out tokens", { input: usage.input_tokens, output: usage.output_tokens }));
      }
      if (data.cost !== undefined && data.cost !== null && Number(data.cost) > 0) parts.push("$" + Number(data.cost).toFixed(6));
      this.footer.replaceChildren(el(this.doc, "span", "metrics", parts.join(" · ")));
      var conversationUrl = this.chat.conversationUrl(conversationId || data.conversation_id);
      if (conversationUrl) {
        var link = el(this.doc, "a", null, t("trace"));
        link.href = conversationUrl + "#" + encodeURIComponent(messageId || "");
        link.target = "_blank";
        link.rel = "noopener";
        this.footer.appendChild(this.doc.createTextNode(" · "));
        this.footer.appendChild(link);
      }
      if (messageId && data.state === "completed") this.footer.appendChild(this.feedbackButtons(messageId));
      this.chat.scrollToEnd();
    };

    AssistantBubble.prototype.feedbackButtons = function (messageId) {
      var self = this;
      var box = el(this.doc, "span", "feedback");
      [[1, "👍", t("Good answer")], [-1, "👎", t("Bad answer")]].forEach(function (spec) {
        var button = el(self.doc, "button", "link", spec[1]);
        button.type = "button";
        button.title = spec[2];
        button.setAttribute("aria-label", spec[2]);
        button.addEventListener("click", function () {
          self.chat.feedback(messageId, spec[0]).then(function () {
            box.replaceChildren(el(self.doc, "span", null, spec[0] === 1 ? "👍 " + t("thanks") : "👎 " + t("noted")));
          }, function (error) { box.replaceChildren(el(self.doc, "span", "error", errorText(error))); });
        });
        box.appendChild(button);
      });
      return box;
    };

    /** The preview panel. */
    function PreviewChat(container, config) {
      this.container = container;
      this.doc = container.ownerDocument;
      this.config = config;
      this.apiRoot = config.api_root || "/api/v1/";
      this.log = container.querySelector("[data-role=log]");
      this.starters = container.querySelector("[data-role=starters]");
      this.composer = container.querySelector("[data-role=composer]");
      this.input = this.composer.querySelector("textarea");
      this.sendButton = container.querySelector("[data-action=send]");
      this.stopButton = container.querySelector("[data-action=stop]");
      this.variables = container.querySelector("[data-role=variables]");
      this.conversationId = null;
      this.turn = null;
      this.stick = true;
      this.bind();
      this.reset();
    }

    PreviewChat.prototype.headers = function () {
      return { "X-CSRFToken": csrfToken(this.doc) };
    };

    PreviewChat.prototype.bind = function () {
      var self = this;
      this.composer.addEventListener("submit", function (event) {
        event.preventDefault();
        self.send(self.input.value);
      });
      this.input.addEventListener("keydown", function (event) {
        if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
          event.preventDefault();
          self.send(self.input.value);
        }
      });
      this.stopButton.addEventListener("click", function () { self.stop(); });
      var fresh = this.container.querySelector("[data-action=new-conversation]");
      if (fresh) fresh.addEventListener("click", function () { self.newConversation(); });
      if (this.variables) {
        this.variables.addEventListener("submit", function (event) { event.preventDefault(); });
        // The opening message shows the values typed, as the conversation would start with them.
        this.variables.addEventListener("input", function () { self.renderOpening(); });
        this.variables.addEventListener("change", function () { self.renderOpening(); });
      }
      this.log.addEventListener("scroll", function () {
        self.stick = self.log.scrollHeight - self.log.scrollTop - self.log.clientHeight < 40;
      });
    };

    PreviewChat.prototype.reset = function () {
      var self = this;
      this.conversationId = null;
      this.log.replaceChildren();
      this.opening = null;
      if (this.config.opening_message) {
        var opening = el(this.doc, "div", "chat-message assistant opening");
        this.opening = el(this.doc, "div", "bubble");
        opening.appendChild(this.opening);
        this.log.appendChild(opening);
        this.renderOpening();
      }
      this.starters.replaceChildren();
      (this.config.starter_questions || []).forEach(function (question) {
        var button = el(self.doc, "button", "starter", question);
        button.type = "button";
        button.addEventListener("click", function () { self.send(question); });
        self.starters.appendChild(button);
      });
      this.starters.hidden = !(this.config.starter_questions || []).length;
      this.lockVariables(false);
      this.setBusy(false);
      this.input.value = "";
    };

    /** The opening message with the variables filled in (fixed once the conversation started). */
    PreviewChat.prototype.renderOpening = function () {
      if (!this.opening || this.conversationId) return;
      var text = fillTemplate(this.config.opening_message, this.variableValues());
      this.opening.replaceChildren(renderMarkdown(text, this.doc));
    };

    /** Each declared variable's value as the server would resolve it: typed, else its default. */
    PreviewChat.prototype.variableValues = function () {
      var values = {};
      var self = this;
      (this.config.variables || []).forEach(function (variable) {
        var field = self.variables && self.variables.querySelector("[data-variable=\"" + variable.name + "\"]");
        var fallback = variable["default"] === null || variable["default"] === undefined ? "" : variable["default"];
        if (!field) {
          values[variable.name] = fallback;
        } else if (variable.type === "boolean") {
          values[variable.name] = !!field.checked;
        } else {
          var typed = field.value.trim();
          var number = Number(typed);
          values[variable.name] = !typed ? fallback
            : (variable.type === "number" && isFinite(number) ? number : typed);
        }
      });
      return values;
    };

    PreviewChat.prototype.newConversation = function () {
      if (this.turn) {
        var turn = this.turn;
        this.turn = null;
        turn.stop().catch(function () { /* it may have just ended */ });
        turn.abort();
      }
      this.reset();
      this.input.focus();
    };

    PreviewChat.prototype.lockVariables = function (locked) {
      if (!this.variables) return;
      var fieldset = this.variables.querySelector("fieldset");
      if (fieldset) fieldset.disabled = locked;
    };

    PreviewChat.prototype.setBusy = function (busy) {
      this.sendButton.disabled = busy;
      this.stopButton.hidden = !busy;
      this.stopButton.disabled = false;
    };

    PreviewChat.prototype.collectInputs = function () {
      var inputs = {};
      var problems = [];
      if (!this.variables) return { inputs: inputs, problems: problems };
      var fields = this.variables.querySelectorAll("[data-variable]");
      for (var i = 0; i < fields.length; i++) {
        var field = fields[i];
        var name = field.getAttribute("data-variable");
        var type = field.getAttribute("data-type");
        this.variableError(name, "");
        if (type === "boolean") {
          inputs[name] = field.checked;
          continue;
        }
        var value = field.value.trim();
        if (!value) {
          if (field.required) problems.push([name, t("Required.")]);
          continue;
        }
        if (type === "number") {
          var number = Number(value);
          if (!isFinite(number)) { problems.push([name, t("Enter a number.")]); continue; }
          inputs[name] = number;
        } else {
          inputs[name] = value;
        }
      }
      return { inputs: inputs, problems: problems };
    };

    PreviewChat.prototype.variableError = function (name, message) {
      if (!this.variables) return;
      var nodes = this.variables.querySelectorAll("[data-error-for]");
      for (var i = 0; i < nodes.length; i++) {
        if (nodes[i].getAttribute("data-error-for") === name) {
          nodes[i].textContent = message;
          nodes[i].hidden = !message;
          if (message) {
            var field = this.variables.querySelector("[data-variable=\"" + name + "\"]");
            if (field) field.focus();
          }
        }
      }
    };

    PreviewChat.prototype.userBubble = function (text) {
      var node = el(this.doc, "div", "chat-message user");
      var bubble = el(this.doc, "div", "bubble");
      bubble.appendChild(el(this.doc, "div", "text plain", text));
      node.appendChild(bubble);
      this.log.appendChild(node);
      this.scrollToEnd();
      return node;
    };

    PreviewChat.prototype.notice = function (text, className) {
      var node = el(this.doc, "div", "chat-notice " + (className || ""), text);
      this.log.appendChild(node);
      this.scrollToEnd();
      return node;
    };

    PreviewChat.prototype.send = function (raw) {
      var self = this;
      var text = String(raw || "");
      if (!text.trim() || this.turn) return;
      var payload = { message: text, stream: true, version: "draft" };
      if (this.conversationId) {
        payload.conversation_id = this.conversationId;
      } else {
        var collected = this.collectInputs();
        if (collected.problems.length) {
          collected.problems.forEach(function (p) { self.variableError(p[0], p[1]); });
          return;
        }
        payload.inputs = collected.inputs;
      }
      this.input.value = "";
      this.starters.hidden = true;
      this.stick = true;
      var userNode = this.userBubble(text);
      var bubble = new AssistantBubble(this);
      this.log.appendChild(bubble.node);
      this.scrollToEnd();
      var turn = this.createTurn(bubble);
      this.watch(turn, bubble, turn.send(this.config.chat_url, payload), function (error) {
        // Not accepted: nothing was stored; give the text back to edit and send again.
        bubble.node.remove();
        userNode.classList.add("failed");
        self.input.value = text;
        self.notice(errorText(error), "error");
        if (error.param && error.param.indexOf("inputs.") === 0 && !self.conversationId) {
          self.variableError(error.param.slice(7), error.message);
        }
      });
    };

    PreviewChat.prototype.createTurn = function (bubble) {
      var self = this;
      var turn = new TurnClient({
        apiRoot: this.apiRoot,
        headers: this.headers(),
        onStatus: function (status, detail) {
          if (turn !== self.turn) return;
          if (status === "accepted") {
            self.conversationId = detail.conversationId || self.conversationId;
            self.lockVariables(true);
          } else if (status === "reconnecting") {
            bubble.setStatus(detail.attempt > 1
              ? t("Connection lost; reconnecting (attempt %(attempt)s)…", { attempt: detail.attempt })
              : t("Connection lost; reconnecting…"));
          } else if (status === "reconnected") {
            bubble.setStatus("");
          }
        },
        onEvent: function (name, data) {
          if (turn !== self.turn) return;
          self.handle(bubble, turn, name, data);
        }
      });
      bubble.turn = turn;
      return turn;
    };

    /** Show `turn` as the one in progress until `reading` settles. */
    PreviewChat.prototype.watch = function (turn, bubble, reading, notAccepted) {
      var self = this;
      this.turn = turn;
      this.setBusy(true);
      reading.then(function () {
        if (turn === self.turn) self.finishTurn();
      }, function (error) {
        if (turn !== self.turn) return;
        if (!turn.messageId && notAccepted) {
          notAccepted(error);
        } else if (error.code === "connection_lost") {
          bubble.setStatus(errorText(error) + " " + t("The answer will be in the conversation's history."));
        } else {
          bubble.showError(errorText(error), error.code);
        }
        self.finishTurn();
      });
    };

    PreviewChat.prototype.handle = function (bubble, turn, name, data) {
      switch (name) {
        case "message.start":
          if (data.conversation_id) {
            this.conversationId = data.conversation_id;
            this.lockVariables(true);
          }
          break;
        case "retrieval":
          bubble.showCitations(data.citations);
          break;
        case "delta":
          if (data.text) bubble.append(data.text);
          break;
        case "message.reset":
          bubble.reset(data);
          break;
        case "tool.call":
          bubble.toolCall(data);
          break;
        case "tool.confirmation_required":
          bubble.confirmationRequired(data);
          break;
        case "tool.result":
          bubble.toolResult(data);
          break;
        case "error":
          bubble.showError(data.message, data.code);
          break;
        case "message.end":
          bubble.end(data, turn.messageId, turn.conversationId || this.conversationId);
          break;
        default:
          break;
      }
    };

    PreviewChat.prototype.finishTurn = function () {
      this.turn = null;
      this.setBusy(false);
      this.input.focus();
    };

    PreviewChat.prototype.stop = function () {
      var self = this;
      var turn = this.turn;
      if (!turn) return;
      this.stopButton.disabled = true;
      turn.stop().catch(function (error) {
        // 409: it ended on its own meanwhile; its message.end is on the stream.
        if (error.status === 409 || turn !== self.turn) return;
        self.stopButton.disabled = false;
        self.notice(t("Could not stop the answer: %(error)s", { error: errorText(error) }), "error");
      });
    };

    /** Answer a confirmation; a turn no longer followed (its stream was lost) is followed again. */
    PreviewChat.prototype.confirm = function (bubble, url, toolCallId, approve) {
      var self = this;
      var turn = bubble.turn;
      if (!turn) return Promise.reject(new ApiError(t("This answer is no longer in progress."), "no_turn"));
      return turn.confirm(url, toolCallId, approve).then(function (result) {
        if (!turn.ended && !turn.aborted && !self.turn) {
          bubble.setStatus(t("Reconnecting…"));
          self.watch(turn, bubble, turn.resume(turn.messageId, turn.lastEventId));
        }
        return result;
      });
    };

    PreviewChat.prototype.feedback = function (messageId, rating) {
      var client = new TurnClient({ apiRoot: this.apiRoot, headers: this.headers() });
      return client.postJson(this.apiRoot + "messages/" + encodeURIComponent(messageId) + "/feedback",
                             { rating: rating });
    };

    PreviewChat.prototype.conversationUrl = function (conversationId) {
      if (!conversationId || !this.config.conversation_url) return null;
      return this.config.conversation_url.replace("CONVERSATION_ID", encodeURIComponent(conversationId));
    };

    /** Keep the newest text in view, unless the reader has scrolled up to read. */
    PreviewChat.prototype.scrollToEnd = function () {
      if (this.stick) this.log.scrollTop = this.log.scrollHeight;
    };

    function start(doc) {
      var container = doc.getElementById("bot-preview");
      var source = doc.getElementById("bot-preview-config");
      if (!container || !source) return null;
      var chat = new PreviewChat(container, JSON.parse(source.textContent));
      container.previewChat = chat;
      return chat;
    }

    var api = { SSEParser: SSEParser, TurnClient: TurnClient, ApiError: ApiError, renderMarkdown: renderMarkdown,
                fillTemplate: fillTemplate, AssistantBubble: AssistantBubble, PreviewChat: PreviewChat, start: start,
                t: t };
    root.SwitchboardPreview = api;
    if (root.document.readyState === "loading") {
      root.document.addEventListener("DOMContentLoaded", function () { start(root.document); });
    } else {
      start(root.document);
    }
  }

  if (root.SwitchboardChat) {
    preview(root.SwitchboardChat);
  } else {
    var own = root.document.currentScript;
    var tag = root.document.createElement("script");
    tag.src = own && own.src ? own.src.replace(/bots\/preview\.js(\?.*)?$/, "chat/core.js") : "/static/chat/core.js";
    tag.addEventListener("load", function () { preview(root.SwitchboardChat); });
    root.document.head.appendChild(tag);
  }
})(window);
