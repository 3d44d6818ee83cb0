/*
 * The chat inside the widget's iframe (mode "widget"), on the share page (mode "share") and in
 * the publish page's live preview (mode "preview"). Its configuration is the JSON the page holds
 * in #switchboard-widget-config; it talks to the widget API with a short-lived visitor session
 * token, minted from the page's ticket and renewed when it expires.
 *
 * Model and server text only ever reach the page as text nodes or through the safe Markdown
 * renderer of chat/core.js, which builds elements itself. Messages from the embedding page are
 * accepted only from the configured host origin and the parent window, and go back only to it.
 */
(function (root) {
  "use strict";

  var doc = root.document;
  var core = root.SwitchboardChat;
  var el = core.el;

  var STRINGS = {
    en: {
      new_conversation: "New conversation",
      history: "Your conversations",
      history_empty: "No conversations yet. Your conversations with this assistant will be listed here.",
      history_untitled: "Conversation without a title",
      history_current: "Open now",
      history_back: "Back to the chat",
      close: "Close chat",
      log: "Conversation",
      message_label: "Message",
      placeholder: "Write a message…",
      send: "Send",
      stop: "Stop",
      starters: "Suggested questions",
      you: "You:",
      thinking: "Thinking…",
      stopped: "Stopped.",
      reconnecting: "Connection lost; reconnecting…",
      retrying: "Something went wrong; trying again…",
      sources: "Sources",
      source: "Source {n}: {name}",
      page: "page {page}",
      passage: "Cited passage",
      loading: "Loading…",
      close_dialog: "Close",
      tool_running: "Using {name}…",
      tool_done: "Used {name}",
      tool_failed: "{name} did not work",
      tool_denied: "{name} was not allowed",
      tool_confirm: "The assistant wants to use {name}. Do you allow it?",
      details: "Details",
      approve: "Allow",
      deny: "Deny",
      approved: "Allowed",
      denied: "Denied",
      waiting: "Waiting for your decision…",
      copy: "Copy answer",
      copied: "Copied",
      copy_failed: "Could not copy; select the text instead.",
      good: "Good answer",
      bad: "Bad answer",
      comment: "Tell us more (optional)",
      comment_send: "Send feedback",
      thanks: "Thanks for your feedback.",
      dismiss: "Dismiss",
      err_bot_not_found: "This assistant is not available right now.",
      err_origin_not_allowed: "This chat cannot be used on this website.",
      err_session_expired: "Your chat session has ended. Please reload the page.",
      err_session_invalid: "Your chat session is not valid. Please reload the page.",
      err_ticket_expired: "This chat has been open too long. Please reload the page.",
      err_identity_invalid: "We could not confirm who you are, so you are chatting as a guest.",
      err_rate_limited: "You are sending messages too quickly. Please wait {seconds} s and try again.",
      err_rate_limited_soon: "You are sending messages too quickly. Please wait a moment and try again.",
      err_daily_cap_reached: "This assistant has answered all the messages it can today. Please come back tomorrow.",
      err_share_disabled: "This chat link has been turned off.",
      err_conversation_not_found: "That conversation is no longer available, so a new one has started.",
      err_connection_lost: "The connection was lost. The answer will appear when you reload the page.",
      err_turn_finished: "This answer has already finished.",
      err_answer_failed: "Sorry, the assistant could not answer. Please try again.",
      err_budget_exceeded: "This assistant has used its budget for this month. Please come back later.",
      err_limiter_unavailable: "The chat is briefly unavailable. Please try again in a moment.",
      err_ticket_invalid: "This chat window is out of date. Please reload the page.",
      err_session_required: "Your chat session has ended. Please reload the page.",
      err_message_not_found: "That answer is no longer available.",
      err_citation_not_found: "That source is no longer available.",
      err_generic: "Something went wrong. Please try again."
    },
    zh: {
      new_conversation: "新对话",
      history: "历史对话",
      history_empty: "还没有对话。你与该助手的对话会列在这里。",
      history_untitled: "未命名对话",
      history_current: "当前对话",
      history_back: "返回聊天",
      close: "关闭聊天",
      log: "对话",
      message_label: "消息",
      placeholder: "输入消息…",
      send: "发送",
      stop: "停止",
      starters: "推荐问题",
      you: "你：",
      thinking: "正在思考…",
      stopped: "已停止。",
      reconnecting: "连接中断，正在重新连接…",
      retrying: "出了点问题，正在重试…",
      sources: "来源",
      source: "来源 {n}：{name}",
      page: "第 {page} 页",
      passage: "引用段落",
      loading: "正在加载…",
      close_dialog: "关闭",
      tool_running: "正在使用 {name}…",
      tool_done: "已使用 {name}",
      tool_failed: "{name} 未能完成",
      tool_denied: "{name} 未获允许",
      tool_confirm: "助手想要使用 {name}，是否允许？",
      details: "详情",
      approve: "允许",
      deny: "拒绝",
      approved: "已允许",
      denied: "已拒绝",
      waiting: "正在等待你的决定…",
      copy: "复制回答",
      copied: "已复制",
      copy_failed: "无法复制，请手动选择文字。",
      good: "回答有帮助",
      bad: "回答没有帮助",
      comment: "补充说明（可选）",
      comment_send: "提交反馈",
      thanks: "感谢你的反馈。",
      dismiss: "关闭提示",
      err_bot_not_found: "该助手当前不可用。",
      err_origin_not_allowed: "此网站无法使用该聊天。",
      err_session_expired: "聊天会话已结束，请刷新页面。",
      err_session_invalid: "聊天会话无效，请刷新页面。",
      err_ticket_expired: "聊天打开时间过长，请刷新页面。",
      err_identity_invalid: "无法确认你的身份，你将以访客身份继续聊天。",
      err_rate_limited: "你发送消息太快了，请等待 {seconds} 秒后再试。",
      err_rate_limited_soon: "你发送消息太快了，请稍后再试。",
      err_daily_cap_reached: "该助手今天的消息数量已达上限，请明天再来。",
      err_share_disabled: "该聊天链接已关闭。",
      err_conversation_not_found: "之前的对话已不可用，已为你开始新的对话。",
      err_connection_lost: "连接已断开，刷新页面后即可看到回答。",
      err_turn_finished: "该回答已经结束。",
      err_answer_failed: "抱歉，助手暂时无法回答，请重试。",
      err_budget_exceeded: "该助手本月的额度已用完，请稍后再来。",
      err_limiter_unavailable: "聊天暂时不可用，请稍后再试。",
      err_ticket_invalid: "聊天窗口已过期，请刷新页面。",
      err_session_required: "聊天会话已结束，请刷新页面。",
      err_message_not_found: "该回答已不可用。",
      err_citation_not_found: "该来源已不可用。",
      err_generic: "出了点问题，请重试。"
    }
  };
  var FATAL = { bot_not_found: true, origin_not_allowed: true, share_disabled: true };
  var UNFINISHED = { queued: true, running: true, awaiting_confirmation: true };

  var source = doc.getElementById("switchboard-widget-config");
  var config = JSON.parse(source.textContent);
  var bot = config.bot || {};
  var apiRoot = config.api_root || "/widget/v1/";
  var mode = config.mode || "widget";
  var options = config.options || {};
  var lang = config.lang === "zh" ? "zh" : "en";

  // -- strings --------------------------------------------------------------------------------------

  function t(key, args) {
    var text = STRINGS[lang][key] || STRINGS.en[key] || key;
    return text.replace(/\{(\w+)\}/g, function (match, name) {
      return args && args[name] !== undefined && args[name] !== null ? String(args[name]) : "";
    });
  }

  /**
   * Give `node` a localized text (kind "text") or label (aria-label and title), kept in data
   * attributes so a change of language later relabels it. spec: a key, {key, args} or {text}.
   */
  function say(node, spec, kind) {
    if (typeof spec === "string") spec = { key: spec };
    var prefix = kind === "label" ? "data-i18n-label" : kind === "placeholder" ? "data-i18n-placeholder" : "data-i18n";
    if (spec.key) {
      node.setAttribute(prefix, spec.key);
      if (spec.args) node.setAttribute(prefix + "-args", JSON.stringify(spec.args));
      else node.removeAttribute(prefix + "-args");
    } else {
      node.removeAttribute(prefix);
    }
    apply(node, kind, spec.key ? t(spec.key, spec.args) : spec.text);
    return node;
  }

  function apply(node, kind, text) {
    if (kind === "label") {
      node.setAttribute("aria-label", text);
      node.title = text;
    } else if (kind === "placeholder") {
      node.setAttribute("placeholder", text);
    } else {
      node.textContent = text;
    }
  }

  function relabel() {
    doc.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
    [["data-i18n", "text"], ["data-i18n-label", "label"], ["data-i18n-placeholder", "placeholder"]].forEach(function (pair) {
      var nodes = doc.querySelectorAll("[" + pair[0] + "]");
      for (var i = 0; i < nodes.length; i++) {
        var args = nodes[i].getAttribute(pair[0] + "-args");
        apply(nodes[i], pair[1], t(nodes[i].getAttribute(pair[0]), args ? JSON.parse(args) : null));
      }
    });
  }

  /** What to tell a visitor about an error: a known code in their language, else a generic line. */
  function friendly(error) {
    var code = error && error.code;
    if (code === "rate_limited") {
      return error.retryAfter ? { key: "err_rate_limited", args: { seconds: error.retryAfter } }
        : { key: "err_rate_limited_soon" };
    }
    if (code && STRINGS.en["err_" + code]) return { key: "err_" + code };
    if (error && error.status === 400 && error.message) return { text: error.message };
    return { key: "err_generic" };
  }

  // -- the page's parts -----------------------------------------------------------------------------

  var app = doc.querySelector("[data-role=app]");
  var log = doc.querySelector("[data-role=log]");
  var starters = doc.querySelector("[data-role=starters]");
  var notice = doc.querySelector("[data-role=notice]");
  var composer = doc.querySelector("[data-role=composer]");
  var input = composer.querySelector("textarea");
  var sendButton = doc.querySelector("[data-action=send]");
  var stopButton = doc.querySelector("[data-action=stop]");
  var dialog = doc.querySelector("[data-role=passage]");
  var historyPanel = doc.querySelector("[data-role=history]");
  var historyList = doc.querySelector("[data-role=history-list]");
  var historyButton = doc.querySelector("[data-action=history]");

  // -- storage: the visitor and their conversation survive page loads -------------------------------

  var store = {
    key: function (name) { return "switchboard:" + bot.public_id + ":" + name; },
    get: function (name) {
      try { return root.localStorage.getItem(this.key(name)); } catch (e) { return null; }
    },
    set: function (name, value) {
      if (mode === "preview" && name === "conversation") return;
      try {
        if (value) root.localStorage.setItem(this.key(name), value);
        else root.localStorage.removeItem(this.key(name));
      } catch (e) { /* storage blocked: the conversation lasts as long as the page */ }
    }
  };

  // -- the embedding page ---------------------------------------------------------------------------

  var host = mode !== "share" && typeof config.host === "string" && /^https?:\/\/[^/]+$/.test(config.host)
    ? config.host : null;

  function tell(type, detail) {
    if (!host || root.parent === root) return;
    var message = { source: "switchboard", type: type };
    for (var key in (detail || {})) message[key] = detail[key];
    try { root.parent.postMessage(message, host); } catch (e) { /* the page went away */ }
  }

  // -- the session ----------------------------------------------------------------------------------

  var session = null;
  var minting = null;
  var identity = null;
  var inputs = {};

  function mint() {
    if (!minting) {
      minting = createSession().then(function (result) {
        minting = null;
        return result;
      }, function (error) {
        minting = null;
        throw error;
      });
    }
    return minting;
  }

  async function createSession() {
    var body = { ticket: config.ticket, visitor: store.get("visitor") };
    if (identity && identity.user_id) {
      body.user_id = identity.user_id;
      body.user_hash = identity.user_hash || "";
      if (identity.name) body.name = identity.name;
    }
    var response = await root.fetch(apiRoot + "sessions", {
      method: "POST", body: JSON.stringify(body), credentials: "same-origin", cache: "no-store",
      headers: { "Content-Type": "application/json", "Accept": "application/json" }
    });
    if (!response.ok) {
      var error = await core.errorFromResponse(response);
      if (error.code === "identity_invalid" && body.user_id) {
        identity = null; // go on as a guest
        showNotice({ key: "err_identity_invalid" });
        tell("error", { code: error.code, message: error.message, fatal: false });
        return createSession();
      }
      if (error.code === "ticket_expired") reloadOnce();
      throw error;
    }
    var data = await response.json();
    session = { token: data.token, until: Date.now() + Math.max(10, (data.expires_in || 60) - 30) * 1000 };
    if (data.visitor) store.set("visitor", data.visitor);
    return session;
  }

  /** The Authorization header of every widget API call; renew: the server said the token expired. */
  function authorization(renew) {
    if (!renew && session && Date.now() < session.until) return { Authorization: "Bearer " + session.token };
    session = null;
    return mint().then(function (current) { return { Authorization: "Bearer " + current.token }; });
  }

  /** A reload fetches a fresh ticket; at most once a minute, so a broken server cannot loop. */
  function reloadOnce() {
    var key = "switchboard:reloaded";
    var last = 0;
    try { last = Number(root.sessionStorage.getItem(key)) || 0; } catch (e) { return; }
    if (Date.now() - last < 60000) return;
    try { root.sessionStorage.setItem(key, String(Date.now())); } catch (e) { return; }
    root.location.reload();
  }

  var client = new core.TurnClient({ apiRoot: apiRoot, authorization: authorization });

  function url(path) {
    return apiRoot + path.map(encodeURIComponent).join("/");
  }

  // -- notices and fatal errors ---------------------------------------------------------------------

  function showNotice(spec) {
    var text = notice.querySelector("[data-role=notice-text]");
    say(text, spec);
    notice.hidden = false;
  }

  function hideNotice() {
    notice.hidden = true;
  }

  var fatal = null;

  function fail(error) {
    if (fatal) return;
    fatal = error;
    cancelTurn(false);
    var box = el(doc, "div", "fatal");
    box.setAttribute("role", "alert");
    box.appendChild(say(el(doc, "p"), friendly(error)));
    log.replaceChildren(box);
    historyPanel.hidden = true;
    historyButton.hidden = true;
    app.classList.remove("showing-history");
    starters.hidden = true;
    composer.hidden = true;
    hideNotice();
    app.classList.add("failed");
    tell("error", { code: error.code, message: error.message || t(friendly(error).key || "err_generic") });
  }

  // -- header, opening message and starter questions ------------------------------------------------

  function title() {
    return options.title || bot.name || "";
  }

  function renderHeader() {
    doc.querySelector("[data-role=title]").textContent = title();
    doc.title = title();
    var avatar = doc.querySelector("[data-role=avatar]");
    var value = String(options.avatar || bot.avatar || "").trim();
    avatar.replaceChildren();
    if (/^(https:\/\/|\/)/.test(value) && core.imageAllowed(doc, value, { allowExternalImages: options.allow_external_images })) {
      var image = el(doc, "img");
      image.alt = "";
      image.src = value;
      avatar.appendChild(image);
    } else {
      avatar.textContent = value && !/^\w+:/.test(value) && Array.from(value).length <= 8 ? value
        : Array.from(title() || "?")[0].toUpperCase();
    }
    var accent = options.accent;
    if (/^#[0-9a-f]{6}$/i.test(accent || "")) {
      var rgb = [1, 3, 5].map(function (i) { return parseInt(accent.slice(i, i + 2), 16) / 255; });
      var light = 0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2] > 0.6;
      doc.documentElement.style.setProperty("--sb-accent", accent);
      doc.documentElement.style.setProperty("--sb-on-accent", light ? "#111827" : "#ffffff");
    }
  }

  function variableValues() {
    var values = {};
    (bot.variables || []).forEach(function (variable) {
      var fallback = variable["default"];
      values[variable.name] = fallback === null || fallback === undefined ? "" : fallback;
    });
    for (var name in inputs) values[name] = inputs[name];
    return values;
  }

  var opening = null;

  function renderOpening() {
    var text = options.greeting || bot.opening_message || "";
    if (!text) {
      if (opening) opening.remove();
      opening = null;
      return;
    }
    if (!opening) {
      opening = el(doc, "div", "msg assistant opening");
      opening.appendChild(el(doc, "div", "bubble"));
    }
    if (!opening.parentNode) log.insertBefore(opening, log.firstChild);
    opening.firstChild.replaceChildren(core.renderMarkdown(core.fillTemplate(text, variableValues()), doc,
                                                           markdownOptions(null)));
  }

  function starterQuestions() {
    var own = options.starter_questions || [];
    return own.length ? own : (bot.starter_questions || []);
  }

  function renderStarters() {
    starters.replaceChildren();
    starterQuestions().forEach(function (question) {
      var button = el(doc, "button", "starter", question);
      button.type = "button";
      button.addEventListener("click", function () { send(question); });
      starters.appendChild(button);
    });
    starters.hidden = !!conversationId || !starters.childNodes.length || !!fatal;
  }

  function markdownOptions(citation) {
    return { citation: citation, allowExternalImages: !!options.allow_external_images };
  }

  // -- messages -------------------------------------------------------------------------------------

  var stick = true;

  function scrollToEnd() {
    if (stick) log.scrollTop = log.scrollHeight;
  }

  function userMessage(text) {
    var node = el(doc, "div", "msg user");
    var bubble = el(doc, "div", "bubble");
    bubble.appendChild(say(el(doc, "span", "sr-only"), "you"));
    bubble.appendChild(el(doc, "div", "plain", text));
    node.appendChild(bubble);
    log.appendChild(node);
    scrollToEnd();
    return node;
  }

  /** The assistant's side of one turn. */
  function Answer(messageId) {
    this.messageId = messageId || null;
    this.node = el(doc, "div", "msg assistant");
    this.body = el(doc, "div", "bubble");
    this.body.appendChild(el(doc, "span", "sr-only", title() + ":"));
    this.flow = el(doc, "div", "flow");
    this.status = el(doc, "div", "status");
    this.status.setAttribute("aria-hidden", "true");
    this.sourceBox = el(doc, "div", "sources");
    this.footer = el(doc, "div", "footer");
    this.body.appendChild(this.flow);
    this.body.appendChild(this.status);
    this.node.appendChild(this.body);
    this.node.appendChild(this.sourceBox);
    this.node.appendChild(this.footer);
    this.segments = [];
    this.segment = null;
    this.tools = {};
    this.sources = [];
    this.pending = false;
    this.turn = null;
    this.setStatus(null);
  }

  Answer.prototype.setStatus = function (spec) {
    if (spec) say(this.status, spec);
    else this.status.removeAttribute("data-i18n");
    if (!spec) this.status.textContent = "";
    this.status.hidden = !spec;
  };

  Answer.prototype.busy = function (busy) {
    this.node.setAttribute("aria-busy", busy ? "true" : "false");
    if (busy && !this.flow.textContent) this.setStatus("thinking");
  };

  Answer.prototype.currentSegment = function () {
    if (!this.segment) {
      this.segment = { node: el(doc, "div", "text"), text: "", rendered: null };
      this.segments.push(this.segment);
      this.flow.appendChild(this.segment.node);
    }
    return this.segment;
  };

  Answer.prototype.append = function (text) {
    this.setStatus(null);
    this.currentSegment().text += text;
    this.schedule();
  };

  Answer.prototype.reset = function () {
    if (this.segment) {
      this.segment.text = "";
      this.schedule();
    }
    this.setStatus("retrying");
  };

  Answer.prototype.schedule = function () {
    if (this.pending) return;
    this.pending = true;
    var self = this;
    (root.requestAnimationFrame || setTimeout)(function () { self.flush(); });
  };

  Answer.prototype.flush = function () {
    this.pending = false;
    var citation = this.sources.length ? this.marker.bind(this) : null;
    this.segments.forEach(function (segment) {
      if (segment.rendered === segment.text) return;
      segment.rendered = segment.text;
      segment.node.replaceChildren(core.renderMarkdown(segment.text, doc, markdownOptions(citation)));
    });
    scrollToEnd();
  };

  Answer.prototype.rerender = function () {
    this.segments.forEach(function (segment) { segment.rendered = null; });
    this.flush();
  };

  /** The button for source marker [n], or null when this answer has no source n. */
  Answer.prototype.marker = function (n) {
    var cited = this.sources[n - 1];
    if (!cited) return null;
    var self = this;
    var button = el(doc, "button", "cite", String(n));
    button.type = "button";
    button.setAttribute("data-cite", String(n));
    say(button, { key: "source", args: { n: n, name: cited.document_name || "" } }, "label");
    button.addEventListener("click", function () { openPassage(self.messageId, n, cited, button); });
    return button;
  };

  Answer.prototype.showSources = function (citations) {
    var self = this;
    this.sources = citations || [];
    this.sourceBox.replaceChildren();
    if (this.sources.length) {
      this.sourceBox.appendChild(say(el(doc, "div", "sources-title"), "sources"));
      var list = el(doc, "ol");
      this.sources.forEach(function (cited, index) {
        var n = index + 1;
        var item = el(doc, "li");
        var button = el(doc, "button", "source");
        button.type = "button";
        button.setAttribute("data-source", String(n));
        button.appendChild(el(doc, "span", "name", cited.document_name || ""));
        if (cited.page) button.appendChild(say(el(doc, "span", "where"), { key: "page", args: { page: cited.page } }));
        button.addEventListener("click", function () { openPassage(self.messageId, n, cited, button); });
        item.appendChild(button);
        list.appendChild(item);
      });
      this.sourceBox.appendChild(list);
    }
    this.rerender();
  };

  Answer.prototype.toolLine = function (id) {
    if (!this.tools[id]) {
      this.segment = null; // text after a tool round goes below it
      var node = el(doc, "div", "tool");
      node.appendChild(el(doc, "span", "tool-title"));
      this.flow.appendChild(node);
      this.tools[id] = node;
    }
    return this.tools[id];
  };

  Answer.prototype.toolCall = function (data) {
    var line = this.toolLine(data.tool_call_id);
    say(line.firstChild, { key: "tool_running", args: { name: data.name } });
    this.setStatus(null);
  };

  Answer.prototype.confirmationRequired = function (data) {
    var self = this;
    var line = this.toolLine(data.tool_call_id);
    line.classList.add("awaiting");
    say(line.firstChild, { key: "tool_confirm", args: { name: data.name } });
    if (line.querySelector(".actions")) return;
    var details = el(doc, "details");
    details.appendChild(say(el(doc, "summary"), "details"));
    var args = "";
    try { args = JSON.stringify(data.arguments || {}, null, 2); } catch (e) { args = String(data.arguments); }
    details.appendChild(el(doc, "pre", null, args));
    var actions = el(doc, "div", "actions");
    var approve = say(el(doc, "button", "primary"), "approve");
    var deny = say(el(doc, "button", "secondary"), "deny");
    var note = el(doc, "span", "note");
    approve.type = deny.type = "button";
    approve.setAttribute("data-action", "approve");
    deny.setAttribute("data-action", "deny");
    function decide(ok) {
      approve.disabled = deny.disabled = true;
      confirmCall(self, data.confirm_url, data.tool_call_id, ok).then(function () {
        actions.replaceChildren(say(el(doc, "span", "note"), ok ? "approved" : "denied"));
        line.classList.remove("awaiting");
        self.setStatus(ok ? "thinking" : null);
      }, function (error) {
        approve.disabled = deny.disabled = false;
        say(note, friendly(error));
      });
    }
    approve.addEventListener("click", function () { decide(true); });
    deny.addEventListener("click", function () { decide(false); });
    actions.appendChild(approve);
    actions.appendChild(deny);
    actions.appendChild(note);
    line.appendChild(details);
    line.appendChild(actions);
    this.setStatus("waiting");
    scrollToEnd();
  };

  Answer.prototype.toolResult = function (data) {
    var line = this.toolLine(data.tool_call_id);
    line.classList.remove("awaiting");
    line.classList.add(data.ok ? "ok" : "failed");
    var denied = data.denied || /denied/i.test(data.error || "");
    say(line.firstChild, { key: data.ok ? "tool_done" : denied ? "tool_denied" : "tool_failed",
                           args: { name: data.name } });
    var actions = line.querySelector(".actions");
    if (actions && !actions.querySelector(".note:not(:empty)")) actions.remove();
    this.setStatus("thinking");
  };

  Answer.prototype.showError = function (error) {
    if (this.body.querySelector(".error")) return;
    var box = say(el(doc, "div", "error"), error.code && STRINGS.en["err_" + error.code]
      ? friendly(error) : { key: "err_answer_failed" });
    box.setAttribute("role", "alert");
    this.body.appendChild(box);
    this.setStatus(null);
  };

  /** The turn ended: the stored answer is authoritative. */
  Answer.prototype.end = function (data) {
    var shown = this.segments.map(function (s) { return s.text; }).join("");
    if (typeof data.content === "string" && data.content !== shown) {
      this.segments.forEach(function (s) { s.node.remove(); });
      this.segments = [];
      this.segment = null;
      if (data.content) this.currentSegment().text = data.content;
    }
    if (data.citations) this.showSources(data.citations);
    else this.flush();
    if (data.state === "failed") this.showError(data.error || {});
    this.setStatus(data.state === "cancelled" ? "stopped" : null);
    this.busy(false);
    if (this.messageId && data.state === "completed") this.feedback(null, "");
  };

  /** Show a stored message (history). */
  Answer.prototype.fill = function (message) {
    var self = this;
    (message.tool_calls || []).forEach(function (call) {
      self.toolLine(call.tool_call_id);
      self.toolResult({ tool_call_id: call.tool_call_id, name: call.name, ok: call.state === "completed",
                        denied: call.state === "denied" });
    });
    this.segment = null;
    if (message.content) this.currentSegment().text = message.content;
    this.showSources(message.citations || []);
    if (message.state === "failed") this.showError(message.error || {});
    this.setStatus(message.state === "cancelled" ? "stopped" : null);
    if (message.state === "completed") this.feedback(message.rating, message.feedback || "");
  };

  Answer.prototype.feedback = function (rating, comment) {
    var self = this;
    var box = el(doc, "div", "feedback");
    var buttons = [];
    var form = null;
    box.appendChild(copyButton(function () {
      return self.segments.map(function (segment) { return segment.text; }).join("");
    }));
    [[1, "good"], [-1, "bad"]].forEach(function (spec) {
      var button = say(el(doc, "button", "thumb " + spec[1]), spec[1], "label");
      button.appendChild(thumb());
      button.type = "button";
      button.setAttribute("data-rating", String(spec[0]));
      button.setAttribute("aria-pressed", String(rating === spec[0]));
      button.addEventListener("click", function () {
        var next = rating === spec[0] ? null : spec[0];
        rate(self.messageId, next, "").then(function () {
          rating = next;
          buttons.forEach(function (b) {
            b.setAttribute("aria-pressed", String(Number(b.getAttribute("data-rating")) === rating));
          });
          if (rating !== null) askComment();
          else if (form) { form.remove(); form = null; }
        }, function (error) { showNotice(friendly(error)); });
      });
      buttons.push(button);
      box.appendChild(button);
    });
    function askComment() {
      if (form) return;
      form = el(doc, "form", "comment");
      var id = "comment-" + self.messageId;
      var label = say(el(doc, "label"), "comment");
      label.htmlFor = id;
      var field = el(doc, "textarea");
      field.id = id;
      field.rows = 2;
      field.maxLength = 2000;
      field.value = comment || "";
      var submit = say(el(doc, "button", "secondary"), "comment_send");
      submit.type = "submit";
      form.appendChild(label);
      form.appendChild(field);
      form.appendChild(submit);
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        submit.disabled = true;
        rate(self.messageId, rating, field.value.trim()).then(function () {
          var thanks = say(el(doc, "p", "thanks"), "thanks");
          thanks.setAttribute("role", "status");
          form.replaceWith(thanks);
        }, function (error) {
          submit.disabled = false;
          showNotice(friendly(error));
        });
      });
      box.appendChild(form);
      field.focus();
      scrollToEnd();
    }
    this.footer.replaceChildren(box);
  };

  /** A button that copies the answer's text (its Markdown, as the model wrote it). */
  function copyButton(text) {
    var button = say(el(doc, "button", "thumb copy"), "copy", "label");
    button.type = "button";
    button.appendChild(icon("M16 1H4a2 2 0 0 0-2 2v14h2V3h12V1zm3 4H8a2 2 0 0 0-2 2v14a2 2 0 0 0 2 2h11a2 2 0 0 0 2-2V7a2 2 " +
                            "0 0 0-2-2zm0 16H8V7h11v14z"));
    var done = el(doc, "span", "copied");
    done.setAttribute("role", "status");
    var timer = null;
    button.addEventListener("click", function () {
      copyText(text()).then(function () { say(done, "copied"); }, function () { say(done, "copy_failed"); })
        .then(function () {
          clearTimeout(timer);
          timer = setTimeout(function () { done.textContent = ""; done.removeAttribute("data-i18n"); }, 2500);
        });
    });
    var wrap = el(doc, "span", "copy-wrap");
    wrap.appendChild(button);
    wrap.appendChild(done);
    return wrap;
  }

  /** The clipboard API where the page allows it, else the older copy command on a selection. */
  function copyText(value) {
    function fallback() {
      var area = el(doc, "textarea", "sr-only");
      area.value = value;
      area.setAttribute("readonly", "");
      doc.body.appendChild(area);
      area.select();
      var ok = false;
      try { ok = doc.execCommand("copy"); } catch (e) { ok = false; }
      area.remove();
      return ok ? Promise.resolve() : Promise.reject(new Error("copy refused"));
    }
    if (root.navigator.clipboard && root.navigator.clipboard.writeText) {
      return root.navigator.clipboard.writeText(value).catch(fallback);
    }
    return fallback();
  }

  function icon(d) {
    var ns = "http://www.w3.org/2000/svg";
    var svg = doc.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    var path = doc.createElementNS(ns, "path");
    path.setAttribute("d", d);
    svg.appendChild(path);
    return svg;
  }

  function thumb() {
    return icon("M2 21h4V9H2v12zm20-11a2 2 0 0 0-2-2h-6.3l1-4.6V3c0-.4-.2-.8-.4-1L13.2 1 6.6 7.6C6.2 8 " +
                "6 8.5 6 9v10a2 2 0 0 0 2 2h9c.8 0 1.5-.5 1.8-1.2l3-7.1c.1-.2.2-.5.2-.7v-2z");
  }

  function rate(messageId, rating, comment) {
    return client.postJson(url(["messages", messageId, "feedback"]), { rating: rating, comment: comment });
  }

  // -- the cited passage ----------------------------------------------------------------------------

  var opener = null;

  function openPassage(messageId, n, cited, button) {
    opener = button;
    var heading = dialog.querySelector("[data-role=passage-title]");
    var where = dialog.querySelector("[data-role=passage-where]");
    var text = dialog.querySelector("[data-role=passage-text]");
    heading.textContent = cited.document_name || t("passage");
    heading.removeAttribute("data-i18n");
    if (cited.page) say(where, { key: "page", args: { page: cited.page } });
    else { where.removeAttribute("data-i18n"); where.textContent = ""; }
    say(text, "loading");
    if (!dialog.open) dialog.showModal();
    if (!messageId) return;
    client.getJson(url(["messages", messageId, "citations", String(n)])).then(function (passage) {
      text.removeAttribute("data-i18n");
      text.textContent = passage.text || cited.snippet || "";
      if (passage.page && !cited.page) say(where, { key: "page", args: { page: passage.page } });
    }, function (error) {
      say(text, friendly(error));
    });
  }

  dialog.addEventListener("close", function () {
    if (opener && opener.isConnected) opener.focus();
    opener = null;
  });
  dialog.querySelector("[data-action=close-dialog]").addEventListener("click", function () { dialog.close(); });
  dialog.addEventListener("click", function (event) {
    if (event.target === dialog) dialog.close(); // a click on the backdrop
  });

  // -- turns ----------------------------------------------------------------------------------------

  var conversationId = null;
  var turn = null;

  function rememberConversation(id) {
    conversationId = id || null;
    store.set("conversation", conversationId);
  }

  function setBusy(busy) {
    sendButton.hidden = busy;
    stopButton.hidden = !busy;
    stopButton.disabled = false;
  }

  function createTurn(answer) {
    var current = new core.TurnClient({
      apiRoot: apiRoot,
      authorization: authorization,
      onStatus: function (status, detail) {
        if (current !== turn) return;
        if (status === "accepted") {
          answer.messageId = detail.messageId;
          if (detail.conversationId) rememberConversation(detail.conversationId);
          hideNotice();
        } else if (status === "reconnecting") {
          answer.setStatus("reconnecting");
        } else if (status === "reconnected") {
          answer.setStatus(answer.flow.textContent ? null : "thinking");
        }
      },
      onEvent: function (name, data) {
        if (current !== turn) return;
        handle(answer, current, name, data);
      }
    });
    answer.turn = current;
    return current;
  }

  function handle(answer, current, name, data) {
    if (name === "message.start") {
      if (data.conversation_id) rememberConversation(data.conversation_id);
    } else if (name === "retrieval") {
      answer.showSources(data.citations);
    } else if (name === "delta") {
      if (data.text) answer.append(data.text);
    } else if (name === "message.reset") {
      answer.reset(data);
    } else if (name === "tool.call") {
      answer.toolCall(data);
    } else if (name === "tool.confirmation_required") {
      answer.confirmationRequired(data);
    } else if (name === "tool.result") {
      answer.toolResult(data);
    } else if (name === "error") {
      answer.showError(data);
    } else if (name === "message.end") {
      answer.messageId = answer.messageId || current.messageId;
      answer.end(data);
      tell("message", { message: { id: answer.messageId, role: "assistant", content: data.content || "",
                                   state: data.state, conversation_id: data.conversation_id || conversationId } });
    }
  }

  /** Show `current` as the turn in progress until `reading` settles. */
  function watch(current, answer, reading, notAccepted) {
    turn = current;
    answer.busy(true);
    setBusy(true);
    reading.then(function () {
      if (current === turn) finish();
    }, function (error) {
      if (current !== turn) return;
      if (!current.messageId && notAccepted) {
        notAccepted(error);
      } else if (error.code === "connection_lost") {
        answer.setStatus("err_connection_lost");
      } else if (FATAL[error.code]) {
        fail(error);
      } else {
        answer.showError(error);
      }
      answer.busy(false);
      finish();
    });
  }

  function finish() {
    turn = null;
    setBusy(false);
  }

  function cancelTurn(stop) {
    if (!turn) return;
    var current = turn;
    turn = null;
    if (stop) current.stop().catch(function () { /* it may have just ended */ });
    current.abort();
    setBusy(false);
  }

  function send(raw) {
    var text = String(raw || "");
    if (!text.trim() || turn || fatal) return;
    var payload = { message: text, conversation_id: conversationId, inputs: conversationId ? {} : inputs };
    input.value = "";
    grow();
    starters.hidden = true;
    hideNotice();
    stick = true;
    var sent = userMessage(text);
    var answer = new Answer(null);
    log.appendChild(answer.node);
    scrollToEnd();
    tell("message", { message: { role: "user", content: text, conversation_id: conversationId } });
    var current = createTurn(answer);
    watch(current, answer, current.send(apiRoot + "chat", payload), function (error) {
      // Not accepted, so nothing was stored: the text goes back to the composer.
      answer.node.remove();
      sent.remove();
      if (!input.value) input.value = text;
      grow();
      if (error.code === "conversation_not_found") {
        rememberConversation(null);
        restart();
      }
      if (FATAL[error.code]) fail(error);
      else showNotice(friendly(error));
      renderStarters();
    });
  }

  function follow(message) {
    var answer = new Answer(message.id);
    log.appendChild(answer.node);
    var current = createTurn(answer);
    current.conversationId = conversationId;
    watch(current, answer, current.resume(message.id, null));
  }

  /** A confirmation; an answer no longer followed (its stream was lost) is followed again. */
  function confirmCall(answer, confirmUrl, toolCallId, approve) {
    var current = answer.turn;
    var target = confirmUrl || url(["messages", answer.messageId, "confirmations"]);
    return client.postJson(target, { tool_call_id: toolCallId, approve: !!approve }).then(function (result) {
      if (current && !current.ended && !current.aborted && !turn) {
        watch(current, answer, current.resume(current.messageId, current.lastEventId));
      }
      return result;
    });
  }

  function stop() {
    var current = turn;
    if (!current) return;
    stopButton.disabled = true;
    current.stop().catch(function (error) {
      if (error.status === 409 || current !== turn) return;
      stopButton.disabled = false;
      showNotice(friendly(error));
    });
  }

  /** Clear the log for a new conversation: the opening message and the starters again. */
  function restart() {
    log.replaceChildren();
    if (opening) log.appendChild(opening);
    renderOpening();
    renderStarters();
  }

  function newConversation() {
    if (fatal) return;
    cancelTurn(true);
    rememberConversation(null);
    hideNotice();
    restart();
    input.focus();
  }

  /** A conversation's messages (the stored one's by default); an answer still in progress is
   * followed. Returns whether the conversation was found. */
  async function restore(chosen) {
    var id = chosen || store.get("conversation");
    if (!id || mode === "preview") return false;
    var body;
    try {
      body = await client.getJson(url(["conversations", id, "messages"]));
    } catch (error) {
      if (error.code === "conversation_not_found" || error.status === 404) {
        store.set("conversation", null);
        return false;
      }
      throw error;
    }
    rememberConversation(id);
    var messages = body.data || [];
    messages.forEach(function (message, index) {
      if (message.role === "user") {
        userMessage(message.content);
      } else if (message.role === "assistant") {
        if (index === messages.length - 1 && UNFINISHED[message.state]) {
          follow(message);
        } else {
          var answer = new Answer(message.id);
          log.appendChild(answer.node);
          answer.fill(message);
          answer.busy(false);
        }
      }
    });
    renderStarters();
    stick = true;
    scrollToEnd();
    return true;
  }

  // -- the visitor's earlier conversations ----------------------------------------------------------

  function showingHistory() {
    return !historyPanel.hidden;
  }

  /** The list of the visitor's conversations, newest first, in place of the chat. */
  async function openHistory() {
    if (fatal || mode === "preview") return;
    historyPanel.hidden = false;
    app.classList.add("showing-history");
    historyButton.setAttribute("aria-expanded", "true");
    historyList.replaceChildren(say(el(doc, "li", "history-note"), "loading"));
    historyPanel.querySelector("h2").focus();
    var body;
    try {
      body = await client.getJson(url(["conversations"]));
    } catch (error) {
      closeHistory();
      showNotice(friendly(error));
      return;
    }
    if (!showingHistory()) return;
    var rows = body.data || [];
    if (!rows.length) {
      historyList.replaceChildren(say(el(doc, "li", "history-note"), "history_empty"));
      return;
    }
    var when = new Intl.DateTimeFormat(lang === "zh" ? "zh-CN" : "en", { dateStyle: "medium", timeStyle: "short" });
    historyList.replaceChildren.apply(historyList, rows.map(function (row) {
      var item = el(doc, "li");
      var button = el(doc, "button", "history-item");
      button.type = "button";
      button.setAttribute("data-conversation", row.id);
      var title = el(doc, "span", "history-title");
      if (row.title) title.textContent = row.title;
      else say(title, "history_untitled");
      button.appendChild(title);
      var meta = el(doc, "span", "history-meta");
      var date = row.updated_at ? new Date(row.updated_at) : null;
      meta.textContent = date && !isNaN(date.getTime()) ? when.format(date) : "";
      if (row.id === conversationId) {
        button.setAttribute("aria-current", "true");
        meta.appendChild(doc.createTextNode(" · "));
        meta.appendChild(say(el(doc, "span"), "history_current"));
      }
      button.appendChild(meta);
      button.addEventListener("click", function () { openConversation(row.id); });
      item.appendChild(button);
      return item;
    }));
  }

  function closeHistory() {
    if (!showingHistory()) return;
    historyPanel.hidden = true;
    app.classList.remove("showing-history");
    historyButton.setAttribute("aria-expanded", "false");
    historyButton.focus();
  }

  /** Show an earlier conversation. An answer still streaming in the one left goes on (it is
   * followed again when the visitor comes back); only the view changes. */
  async function openConversation(id) {
    closeHistory();
    if (id === conversationId) return;
    cancelTurn(false);
    hideNotice();
    conversationId = null;
    restart();
    try {
      if (!(await restore(id))) {
        showNotice({ key: "err_conversation_not_found" });
        rememberConversation(null);
        restart();
      }
    } catch (error) {
      showNotice(friendly(error));
    }
  }

  // -- the composer ---------------------------------------------------------------------------------

  function grow() {
    input.style.height = "auto";
    input.style.height = Math.min(input.scrollHeight, 132) + "px";
  }

  composer.addEventListener("submit", function (event) {
    event.preventDefault();
    send(input.value);
  });
  input.addEventListener("keydown", function (event) {
    // Enter sends; Shift+Enter is a new line; Enter that ends an IME composition only ends it.
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
      event.preventDefault();
      send(input.value);
    }
  });
  input.addEventListener("input", grow);
  stopButton.addEventListener("click", stop);
  doc.querySelector("[data-action=new-conversation]").addEventListener("click", function () {
    closeHistory();
    newConversation();
  });
  historyButton.hidden = mode === "preview";
  historyButton.addEventListener("click", function () {
    if (showingHistory()) closeHistory();
    else openHistory();
  });
  historyPanel.querySelector("[data-action=history-back]").addEventListener("click", closeHistory);
  var closeButton = doc.querySelector("[data-action=close]");
  if (closeButton) {
    closeButton.hidden = mode !== "widget";
    closeButton.addEventListener("click", function () { tell("close"); });
  }
  notice.querySelector("[data-action=dismiss]").addEventListener("click", hideNotice);
  log.addEventListener("scroll", function () {
    stick = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
  });
  doc.addEventListener("keydown", function (event) {
    if (event.key !== "Escape" || dialog.open) return;
    if (showingHistory()) closeHistory();
    else if (mode === "widget") tell("close");
  });

  // -- messages from the embedding page -------------------------------------------------------------

  function setOptions(changes) {
    changes = changes || {};
    if (changes.lang === "zh" || changes.lang === "en") lang = changes.lang;
    ["title", "accent", "avatar", "greeting"].forEach(function (key) {
      if (typeof changes[key] === "string" && changes[key]) options[key] = changes[key];
    });
    if (Array.isArray(changes.starters) && changes.starters.length) {
      options.starter_questions = changes.starters.map(String);
    }
    relabel();
    renderHeader();
    if (!fatal) {
      renderOpening();
      renderStarters();
    }
  }

  function setIdentity(value) {
    var next = value && value.user_id ? { user_id: String(value.user_id), user_hash: String(value.user_hash || ""),
                                          name: String(value.name || "") } : null;
    if (JSON.stringify(next) === JSON.stringify(identity)) return false;
    identity = next;
    session = null;
    return true;
  }

  function setInputs(value) {
    inputs = value && typeof value === "object" ? value : {};
    if (!conversationId) renderOpening();
  }

  var initialized = null;
  var visible = mode !== "widget";

  root.addEventListener("message", function (event) {
    if (!host || event.origin !== host || event.source !== root.parent) return;
    var message = event.data;
    if (!message || message.source !== "switchboard") return;
    if (message.type === "init") {
      if (message.options) setOptions(message.options);
      setIdentity(message.identity);
      setInputs(message.inputs);
      if (message.fresh) rememberConversation(null);
      visible = !!message.open;
      if (initialized) initialized();
    } else if (message.type === "open") {
      visible = true;
      setTimeout(function () { if (!fatal) input.focus(); }, 0);
    } else if (message.type === "close") {
      visible = false;
      if (dialog.open) dialog.close();
    } else if (message.type === "options") {
      setOptions(message.options);
    } else if (message.type === "identify") {
      if (setIdentity(message.identity) && !fatal) mint().catch(function () { /* shown on the next call */ });
    } else if (message.type === "inputs") {
      setInputs(message.inputs);
    } else if (message.type === "newConversation") {
      newConversation();
    }
  });

  // -- start ----------------------------------------------------------------------------------------

  function waitForHost() {
    if (mode !== "widget" || !host || root.parent === root) return Promise.resolve();
    return new Promise(function (resolve) {
      initialized = resolve;
      tell("hello");
      setTimeout(resolve, 2000); // a page without the embed script still gets a working chat
    });
  }

  async function start() {
    app.setAttribute("data-mode", mode);
    relabel();
    renderHeader();
    renderOpening();
    renderStarters();
    await waitForHost();
    initialized = null;
    try {
      await mint();
      await restore();
    } catch (error) {
      if (FATAL[error.code] || error.code === "ticket_expired") fail(error);
      else showNotice(friendly(error));
      if (fatal) return;
    }
    if (visible && mode === "widget") input.focus();
    tell("ready");
  }

  root.SwitchboardFrame = { send: send, newConversation: newConversation, setOptions: setOptions, t: t };
  start();
})(window);
