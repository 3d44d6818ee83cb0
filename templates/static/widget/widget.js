/*
 * Switchboard chat widget. One tag on any page:
 *
 *   <script src="https://HOST/widget.js" data-bot="PUBLIC_ID" async></script>
 *
 * Options (data attributes, or Switchboard.setOptions({...})): data-position="right|left",
 * data-accent="#2563eb", data-title, data-avatar, data-greeting, data-starters (a JSON array or
 * "a|b|c"), data-open (open once the page has loaded), data-lang="en|zh" (default: the page's
 * <html lang>, zh* gives Chinese).
 *
 * API on window.Switchboard: open(), close(), toggle(), newConversation(),
 * identify({user_id, user_hash, name}), setInputs({...}), setOptions({...}), on(event, fn),
 * off(event, fn); events "ready", "open", "close", "message", "error". Calls made before this
 * script has loaded are queued:
 *
 *   window.Switchboard = window.Switchboard || {q: []};
 *   Switchboard.q.push(["identify", {user_id: "42", user_hash: "…", name: "Ann"}]);
 *   Switchboard.q.push(["on", "message", function (message) { … }]);
 *
 * The launcher lives in a closed shadow root; the chat is an iframe served by the platform,
 * created once the page has loaded (or when the launcher is first pointed at or focused), so the
 * page's own load never waits for it. Messages between the two are checked both ways: here only
 * from the platform's origin and the chat's own window.
 */
(function (w, d) {
  "use strict";

  var NAME = "Switchboard widget: ";
  var LABELS = {
    en: { open: "Open chat", close: "Close chat", error: "Chat unavailable", frame: "Chat" },
    zh: { open: "打开聊天", close: "关闭聊天", error: "聊天暂不可用", frame: "聊天" }
  };
  var ICONS = {
    chat: "M6 3h12a3 3 0 0 1 3 3v8a3 3 0 0 1-3 3h-8l-5 4v-4.2A3 3 0 0 1 3 14V6a3 3 0 0 1 3-3z",
    close: "M6.4 5 12 10.6 17.6 5 19 6.4 13.4 12 19 17.6 17.6 19 12 13.4 6.4 19 5 17.6 10.6 12 5 6.4z"
  };
  var CSS = ":host{all:initial}" +
    ".sb{--a:#2563eb;font:14px/1.4 system-ui,sans-serif}" +
    ".launcher{position:fixed;bottom:20px;right:20px;z-index:2147483000;width:56px;height:56px;margin:0;padding:0;" +
    "border:0;border-radius:50%;background:var(--a);color:#fff;cursor:pointer;display:flex;align-items:center;" +
    "justify-content:center;box-shadow:0 4px 14px rgba(0,0,0,.28);transition:transform .15s}" +
    ".launcher:hover{transform:scale(1.06)}" +
    ".launcher:focus-visible{outline:3px solid var(--a);outline-offset:3px}" +
    ".launcher svg{width:28px;height:28px;fill:currentColor}" +
    ".launcher.error{background:#6b7280}" +
    ".launcher.error::after{content:'!';position:absolute;top:-2px;right:-2px;width:18px;height:18px;border-radius:50%;" +
    "background:#dc2626;color:#fff;font:bold 12px/18px system-ui,sans-serif;text-align:center}" +
    ".win{position:fixed;bottom:88px;right:20px;z-index:2147483000;width:380px;height:600px;" +
    "max-width:calc(100vw - 40px);max-height:calc(100vh - 108px);border-radius:14px;overflow:hidden;" +
    "background:#fff;box-shadow:0 12px 40px rgba(0,0,0,.3);display:none}" +
    ".win.open{display:block}" +
    ".left .launcher,.left .win{right:auto;left:20px}" +
    "iframe{display:block;width:100%;height:100%;border:0;color-scheme:normal}" +
    "@media (max-width:480px){.win{inset:0;width:100%;height:100%;max-width:none;max-height:none;border-radius:0}" +
    ".win.open+.launcher{display:none}}";

  function warn(message) {
    try { w.console.warn(NAME + message); } catch (e) { /* no console */ }
  }

  function guard(fn) {
    return function () {
      try { return fn.apply(null, arguments); } catch (e) { warn(e && e.message); }
    };
  }

  var previous = w.Switchboard;
  if (previous && previous.widget) return; // the script was added twice

  function own() {
    var current = d.currentScript;
    if (current && current.hasAttribute("data-bot")) return current;
    var scripts = d.querySelectorAll("script[src]");
    for (var i = scripts.length - 1; i >= 0; i--) {
      if (/\/widget\.js([?#].*)?$/.test(scripts[i].src) && scripts[i].hasAttribute("data-bot")) return scripts[i];
    }
    return current;
  }

  function list(value) {
    if (Array.isArray(value)) return value.map(String).filter(Boolean);
    if (!value) return [];
    value = String(value);
    if (value.charAt(0) === "[") {
      try { return list(JSON.parse(value)); } catch (e) { /* "[x]|y" is a list of two */ }
    }
    return value.split("|").map(function (s) { return s.trim(); }).filter(Boolean);
  }

  function flag(value) {
    return value === true || (typeof value === "string" && !/^(false|0|no|off)$/i.test(value));
  }

  var script = own();
  var origin = null;
  try { origin = new URL(script.src, d.baseURI).origin; } catch (e) { /* reported below */ }
  var options = {};
  ["bot", "position", "accent", "title", "avatar", "greeting", "starters", "open", "lang"].forEach(function (key) {
    var value = script && script.getAttribute("data-" + key);
    if (value !== null && value !== undefined) options[key] = value;
  });

  var state = { open: false, listening: false, failed: null, identity: null, inputs: null, fresh: false };
  var handlers = {};
  var wrap, launcher, win, frame;

  function lang() {
    var value = options.lang || d.documentElement.getAttribute("lang") || "";
    return /^zh/i.test(value) ? "zh" : "en";
  }

  function labels() {
    return LABELS[lang()];
  }

  function emit(event, detail) {
    (handlers[event] || []).slice().forEach(function (fn) {
      try { fn(detail); } catch (e) { setTimeout(function () { throw e; }); }
    });
  }

  function icon(path) {
    var ns = "http://www.w3.org/2000/svg";
    var svg = d.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    var shape = d.createElementNS(ns, "path");
    shape.setAttribute("d", path);
    svg.appendChild(shape);
    return svg;
  }

  function paint() {
    if (!launcher) return;
    var text = labels();
    wrap.className = "sb" + (options.position === "left" ? " left" : "");
    if (/^#[0-9a-f]{3,8}$/i.test(options.accent || "")) wrap.style.setProperty("--a", options.accent);
    launcher.classList.toggle("error", !!state.failed);
    launcher.setAttribute("aria-expanded", String(state.open));
    launcher.setAttribute("aria-label", state.failed ? text.error : state.open ? text.close : text.open);
    launcher.title = state.failed ? text.error + ": " + state.failed : "";
    launcher.replaceChildren(icon(state.open ? ICONS.close : ICONS.chat));
    if (frame) frame.title = options.title || text.frame;
  }

  function mount() {
    var host = d.createElement("div");
    host.setAttribute("data-switchboard-widget", "");
    var root = host.attachShadow ? host.attachShadow({ mode: "closed" }) : host;
    try {
      var sheet = new CSSStyleSheet();
      sheet.replaceSync(CSS);
      root.adoptedStyleSheets = [sheet];
    } catch (e) {
      var style = d.createElement("style");
      style.textContent = CSS;
      root.appendChild(style);
    }
    wrap = d.createElement("div");
    win = d.createElement("div");
    win.className = "win";
    launcher = d.createElement("button");
    launcher.type = "button";
    launcher.className = "launcher";
    launcher.setAttribute("aria-haspopup", "dialog");
    launcher.addEventListener("click", guard(toggle));
    ["pointerenter", "focus", "touchstart"].forEach(function (name) {
      launcher.addEventListener(name, guard(prepare), { passive: true });
    });
    wrap.appendChild(win);
    wrap.appendChild(launcher);
    root.appendChild(wrap);
    d.body.appendChild(host);
    paint();
    if (state.wanted) open();
  }

  function frameUrl() {
    var query = new URLSearchParams({ host: w.location.origin, lang: lang() });
    ["title", "accent", "avatar", "greeting", "position"].forEach(function (key) {
      if (options[key]) query.set(key, options[key]);
    });
    var starters = list(options.starters);
    if (starters.length) query.set("starters", JSON.stringify(starters));
    return origin + "/widget/frame/" + encodeURIComponent(options.bot) + "?" + query;
  }

  /** Create the chat's iframe (hidden until opened); once only. */
  function prepare() {
    if (frame || !launcher || !options.bot || !origin) return;
    frame = d.createElement("iframe");
    frame.setAttribute("allow", "clipboard-write");
    frame.setAttribute("sandbox", "allow-scripts allow-same-origin allow-forms allow-popups " +
                       "allow-popups-to-escape-sandbox");
    frame.src = frameUrl();
    win.appendChild(frame);
    paint();
  }

  function post(type, detail) {
    if (!frame || !state.listening) return;
    var message = { source: "switchboard", type: type };
    for (var key in (detail || {})) message[key] = detail[key];
    frame.contentWindow.postMessage(message, origin);
  }

  function frameOptions() {
    return { lang: lang(), title: options.title || "", accent: options.accent || "", avatar: options.avatar || "",
             greeting: options.greeting || "", starters: list(options.starters) };
  }

  function receive(event) {
    if (!frame || event.source !== frame.contentWindow || event.origin !== origin) return;
    var message = event.data;
    if (!message || message.source !== "switchboard") return;
    if (message.type === "hello") {
      state.listening = true;
      post("init", { options: frameOptions(), identity: state.identity, inputs: state.inputs, open: state.open,
                     fresh: state.fresh });
      state.fresh = false;
    } else if (message.type === "ready") {
      state.failed = null;
      paint();
      emit("ready");
    } else if (message.type === "close") {
      close();
    } else if (message.type === "message") {
      emit("message", message.message);
    } else if (message.type === "error") {
      var text = String(message.message || message.code || "unknown error");
      warn(text + (message.code ? " (" + message.code + ")" : ""));
      if (message.fatal !== false) {
        state.failed = text;
        paint();
      }
      emit("error", { code: message.code || null, message: text });
    }
  }

  function escape(event) {
    if (event.key === "Escape" && state.open) close();
  }

  function open() {
    if (!launcher) {
      state.wanted = true; // asked before the page's body was there: opened once it is
      return;
    }
    if (!frame && !options.bot) return;
    prepare();
    if (state.open) return;
    state.open = true;
    win.classList.add("open");
    paint();
    post("open");
    try { frame.focus(); } catch (e) { /* focus stays on the page */ }
    d.addEventListener("keydown", escape);
    emit("open");
  }

  function close() {
    if (!state.open) return;
    state.open = false;
    win.classList.remove("open");
    d.removeEventListener("keydown", escape);
    paint();
    post("close");
    launcher.focus();
    emit("close");
  }

  function toggle() {
    if (state.open) close();
    else open();
  }

  var api = {
    widget: true,
    open: open,
    close: close,
    toggle: toggle,
    newConversation: function () {
      if (state.listening) post("newConversation");
      else state.fresh = true;
    },
    identify: function (identity) {
      identity = identity || {};
      state.identity = { user_id: identity.user_id ? String(identity.user_id) : "",
                         user_hash: identity.user_hash ? String(identity.user_hash) : "",
                         name: identity.name ? String(identity.name) : "" };
      post("identify", { identity: state.identity });
    },
    setInputs: function (inputs) {
      state.inputs = JSON.parse(JSON.stringify(inputs || {}));
      post("inputs", { inputs: state.inputs });
    },
    setOptions: function (changes) {
      for (var key in (changes || {})) options[key] = changes[key];
      paint();
      post("options", { options: frameOptions() });
    },
    on: function (event, fn) {
      if (typeof fn === "function") (handlers[event] = handlers[event] || []).push(fn);
    },
    off: function (event, fn) {
      handlers[event] = (handlers[event] || []).filter(function (h) { return h !== fn; });
    }
  };
  for (var method in api) if (typeof api[method] === "function") api[method] = guard(api[method]);

  function run(call) {
    var name = call && call[0];
    if (typeof api[name] === "function") api[name].apply(null, [].slice.call(call, 1));
    else warn("unknown call " + name);
  }

  var queued = previous && previous.q ? [].slice.call(previous.q) : [];
  api.q = { push: guard(run) };
  w.Switchboard = api;

  if (!options.bot || !origin) {
    warn("the script tag has no data-bot attribute: add data-bot=\"YOUR_BOT_PUBLIC_ID\" (shown on the bot's " +
         "Embed & share page).");
    state.failed = "no data-bot";
  }

  w.addEventListener("message", guard(receive));
  // The page's <html lang> may change later (a language switcher); follow it unless data-lang is set.
  if (w.MutationObserver) {
    new MutationObserver(guard(function () { api.setOptions({}); }))
      .observe(d.documentElement, { attributes: true, attributeFilter: ["lang"] });
  }

  function loaded() {
    if (options.open !== undefined && flag(options.open)) open();
    else prepare();
  }

  guard(function start() {
    if (d.body) mount();
    else d.addEventListener("DOMContentLoaded", guard(mount));
    queued.forEach(guard(run));
    if (d.readyState === "complete") setTimeout(guard(loaded));
    else w.addEventListener("load", guard(loaded));
  })();
})(window, document);
