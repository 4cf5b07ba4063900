/* Suggestions as you type in a search box: every <input data-suggest="/search/suggest/">.
   The form works without this script; with it, the box is an ARIA 1.2 combobox with a listbox
   popup: arrow keys move, Enter opens the chosen code, Escape closes (twice: clears). */
(function () {
  "use strict";

  var DELAY = 120; // ms after the last key before asking
  var MIN_LENGTH = 2;
  var counter = 0;

  function setUp(input) {
    var form = input.form;
    var listId = input.id + "-suggestions";
    var list = document.createElement("ul");
    list.id = listId;
    list.className = "suggestions";
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", "Suggested codes");
    list.hidden = true;
    input.parentNode.appendChild(list);

    var status = document.createElement("div");
    status.className = "visually-hidden";
    status.setAttribute("role", "status");
    input.parentNode.appendChild(status);

    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", listId);

    var items = [];
    var active = -1;
    var timer = null;
    var pending = null;
    var lastQuery = "";

    function releaseParams() {
      var params = new URLSearchParams();
      ["release", "fy", "date"].forEach(function (name) {
        var field = form && form.elements[name];
        if (field && field.value) params.set(name, field.value);
      });
      return params;
    }

    function close() {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function highlight(index) {
      var options = list.children;
      if (active >= 0 && options[active]) options[active].setAttribute("aria-selected", "false");
      active = index;
      if (index >= 0 && options[index]) {
        options[index].setAttribute("aria-selected", "true");
        input.setAttribute("aria-activedescendant", options[index].id);
        options[index].scrollIntoView({ block: "nearest" });
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    }

    function show(results, message) {
      items = results;
      list.textContent = "";
      results.forEach(function (item, index) {
        var option = document.createElement("li");
        option.id = listId + "-" + index;
        option.setAttribute("role", "option");
        option.setAttribute("aria-selected", "false");
        var code = document.createElement("span");
        code.className = "code";
        code.textContent = item.code;
        var title = document.createElement("span");
        title.className = "title";
        title.textContent = item.title;
        var badge = document.createElement("span");
        badge.className = "badge " + (item.billable ? "billable" : "header");
        badge.textContent = item.billable ? "Billable" : "Header";
        option.appendChild(code);
        option.appendChild(title);
        option.appendChild(badge);
        if (item.why) {
          var why = document.createElement("span");
          why.className = "why";
          why.textContent = item.why;
          option.appendChild(why);
        }
        option.addEventListener("mousedown", function (event) {
          event.preventDefault(); // keep the focus in the box
          go(index);
        });
        list.appendChild(option);
      });
      active = -1;
      if (!results.length && message) {
        // Nothing matches: say so in the list itself, not only to screen readers.
        var none = document.createElement("li");
        none.className = "nothing";
        none.setAttribute("role", "option");
        none.setAttribute("aria-disabled", "true");
        none.textContent = message;
        list.appendChild(none);
      }
      if (results.length || message) {
        list.hidden = false;
        input.setAttribute("aria-expanded", "true");
      } else {
        close();
      }
      status.textContent = results.length
        ? results.length + " suggestion" + (results.length === 1 ? "" : "s") + ", use the arrow keys"
        : message || "";
    }

    function go(index) {
      if (items[index]) window.location.href = items[index].url;
    }

    function ask() {
      var query = input.value.trim();
      if (query === lastQuery) return;
      lastQuery = query;
      if (query.length < MIN_LENGTH) {
        show([]);
        return;
      }
      if (pending) pending.abort();
      pending = typeof AbortController === "function" ? new AbortController() : null;
      var params = releaseParams();
      params.set("q", query);
      fetch(input.dataset.suggest + "?" + params.toString(), {
        headers: { Accept: "application/json" },
        signal: pending ? pending.signal : undefined,
      })
        .then(function (response) { return response.ok ? response.json() : { results: [] }; })
        .then(function (data) {
          if (input.value.trim() === query) show(data.results || [], data.message || "");
        })
        .catch(function () { /* aborted or offline: the form still works */ });
    }

    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(ask, DELAY);
    });

    input.addEventListener("keydown", function (event) {
      var open = !list.hidden;
      switch (event.key) {
        case "ArrowDown":
          if (!open && items.length) {
            list.hidden = false;
            input.setAttribute("aria-expanded", "true");
          }
          if (items.length) highlight(active + 1 < items.length ? active + 1 : 0);
          event.preventDefault();
          break;
        case "ArrowUp":
          if (items.length && open) highlight(active > 0 ? active - 1 : items.length - 1);
          event.preventDefault();
          break;
        case "Enter":
          if (open && active >= 0) {
            event.preventDefault();
            go(active);
          }
          break;
        case "Escape":
          if (open) {
            close();
          } else {
            input.value = "";
            lastQuery = "";
            items = [];
          }
          event.preventDefault();
          break;
        default:
          break;
      }
    });

    input.addEventListener("blur", function () {
      setTimeout(close, 100);
    });
  }

  function start() {
    var inputs = document.querySelectorAll("input[data-suggest]");
    for (var i = 0; i < inputs.length; i += 1) {
      if (!inputs[i].id) inputs[i].id = "search-box-" + (counter += 1);
      setUp(inputs[i]);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
