/*
 * Searchable pickers: a filter box above a list of checkboxes (knowledge bases, action
 * operations). Without JavaScript the whole list shows and works the same.
 */
(function () {
  "use strict";

  function setUp(picker) {
    var search = picker.querySelector("[data-picker-search]");
    var none = picker.querySelector("[data-picker-none]");
    if (!search) return;
    search.hidden = false;
    search.addEventListener("input", function () {
      var words = search.value.trim().toLowerCase().split(/\s+/).filter(Boolean);
      var shown = 0;
      picker.querySelectorAll("input[type=checkbox]").forEach(function (box) {
        var item = box.closest("li") || box.parentNode;
        var text = (item.textContent || "").toLowerCase();
        var match = box.checked || words.every(function (word) { return text.indexOf(word) >= 0; });
        item.hidden = !match;
        if (match) shown += 1;
      });
      // An action's group hides when none of its operations matches.
      picker.querySelectorAll(".picker-list li").forEach(function (group) {
        if (!group.querySelector("ul")) return;
        group.hidden = !group.querySelector("li:not([hidden])");
      });
      if (none) none.hidden = shown > 0;
    });
    search.addEventListener("keydown", function (event) {
      if (event.key === "Enter") event.preventDefault(); // filtering, not saving
    });
  }

  document.querySelectorAll("[data-picker]").forEach(setUp);
})();
