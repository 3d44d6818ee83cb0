/*
 * The page the widget's frame shows when its bot cannot be used here (unknown, unpublished or
 * disabled bot, a site not allowed, a share link turned off). It tells the embedding page why, so
 * the launcher can show it too; the message holds nothing secret, so any parent may read it.
 */
(function (root) {
  "use strict";
  var box = root.document.querySelector("[data-role=unavailable]");
  if (!box || root.parent === root) return;
  root.parent.postMessage({ source: "switchboard", type: "error", code: box.getAttribute("data-code") || "unavailable",
                            message: box.getAttribute("data-message") || "" }, "*");
})(window);
