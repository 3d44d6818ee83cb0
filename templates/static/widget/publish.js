/*
 * The bot's "Embed & share" page: the snippet to copy and a live preview of the widget, both
 * following the option fields ([data-widget-option=title|accent|position|greeting|starters|lang|
 * open|avatar]) as they are edited. The preview is the widget's own frame with the options as
 * query parameters, reloaded a moment after the last change.
 */
(function (root) {
  "use strict";

  var doc = root.document;
  var ORDER = ["position", "accent", "title", "avatar", "greeting", "starters", "lang", "open"];

  function attribute(value) {
    return String(value).replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  }

  /** Starter questions as typed: a JSON array, one per line, or separated by "|". */
  function questions(value) {
    value = String(value || "").trim();
    if (!value) return [];
    if (value.charAt(0) === "[") {
      try {
        var parsed = JSON.parse(value);
        if (Array.isArray(parsed)) return parsed.map(String).filter(Boolean);
      } catch (e) { /* read as text below */ }
    }
    return value.split(/\n|\|/).map(function (q) { return q.trim(); }).filter(Boolean);
  }

  function values(fields) {
    var result = {};
    fields.forEach(function (field) {
      var name = field.getAttribute("data-widget-option");
      if (field.type === "checkbox") {
        if (field.checked) result[name] = true;
      } else if (field.type === "radio") {
        if (field.checked) result[name] = field.value.trim();
      } else if (name === "starters") {
        var list = questions(field.value);
        if (list.length) result.starters = list;
      } else if (field.value.trim() && !(field.type === "color" && field.value === field.defaultValue)) {
        result[name] = field.value.trim(); // a colour left at the owner's default is not repeated
      }
    });
    if (result.open !== undefined && result.open !== true) result.open = !/^(false|0|no|off)$/i.test(result.open);
    if (result.open === false) delete result.open;
    return result;
  }

  function snippet(preview, options) {
    var parts = ['<script src="' + attribute(preview.getAttribute("data-script-url")) + '"',
                 'data-bot="' + attribute(preview.getAttribute("data-bot")) + '"'];
    ORDER.forEach(function (name) {
      if (options[name] === undefined) return;
      if (name === "open") parts.push("data-open");
      else if (name === "starters") parts.push("data-starters='" + JSON.stringify(options.starters).replace(/&/g, "&amp;").replace(/'/g, "&#39;") + "'");
      else parts.push("data-" + name + '="' + attribute(options[name]) + '"');
    });
    return parts.join(" ") + " async></script>";
  }

  function frameUrl(preview, options) {
    var url = new URL(preview.getAttribute("data-frame-url"), root.location.href);
    ORDER.forEach(function (name) {
      if (options[name] === undefined || name === "open") return;
      url.searchParams.set(name, name === "starters" ? JSON.stringify(options.starters) : options[name]);
    });
    return url.pathname + url.search;
  }

  function start() {
    var preview = doc.querySelector("[data-role=widget-preview]");
    var pre = doc.querySelector("pre[data-role=snippet]");
    var fields = Array.prototype.slice.call(doc.querySelectorAll("[data-widget-option]"));
    if (!preview && !pre) return null;
    var timer = null;
    var frame = null;
    var shown = null;

    function refresh(immediately) {
      var options = values(fields);
      if (pre) pre.textContent = snippet(preview || pre, options);
      if (!preview) return;
      var src = frameUrl(preview, options);
      if (src === shown) return;
      clearTimeout(timer);
      timer = setTimeout(function () {
        shown = src;
        if (!frame) {
          frame = doc.createElement("iframe");
          frame.className = "widget-preview-frame";
          frame.title = preview.getAttribute("aria-label") || "Widget preview";
          preview.appendChild(frame);
        }
        frame.src = src;
      }, immediately ? 0 : 400);
    }

    fields.forEach(function (field) {
      field.addEventListener("input", function () { refresh(false); });
      field.addEventListener("change", function () { refresh(false); });
    });

    var copy = doc.querySelector("[data-action=copy-snippet]");
    if (copy && pre) {
      var label = copy.textContent;
      copy.addEventListener("click", function () {
        var text = pre.textContent;
        var done = function () {
          copy.textContent = copy.getAttribute("data-copy-done") || "Copied";
          setTimeout(function () { copy.textContent = label; }, 1500);
        };
        if (root.navigator.clipboard && root.isSecureContext) {
          root.navigator.clipboard.writeText(text).then(done, function () { selectAndCopy(pre) && done(); });
        } else if (selectAndCopy(pre)) {
          done();
        }
      });
    }
    refresh(true);
    return { refresh: refresh, values: function () { return values(fields); } };
  }

  /** The old way, for pages not served over https: select the snippet and copy the selection. */
  function selectAndCopy(node) {
    var range = doc.createRange();
    range.selectNodeContents(node);
    var selection = root.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    try { return doc.execCommand("copy"); } catch (e) { return false; }
  }

  function boot() {
    root.SwitchboardPublish = start();
  }

  if (doc.readyState === "loading") doc.addEventListener("DOMContentLoaded", boot);
  else boot();
})(window);
