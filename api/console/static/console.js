// The console's own behaviour: review keyboard shortcuts, copy buttons, the "new value" switch.
// Plain JavaScript, served by the service (the CSP allows no inline script).
"use strict";
(function () {
  function items() { return Array.prototype.slice.call(document.querySelectorAll("#queue > li.item")); }
  function pending() { return items().filter(function (li) { return !li.classList.contains("done"); }); }
  function current() {
    var active = document.activeElement;
    return active && active.closest ? active.closest("#queue > li.item") : null;
  }
  function focusItem(li) { if (li) { li.focus(); li.scrollIntoView({block: "nearest"}); } }
  function move(step) {
    var all = items(), at = all.indexOf(current());
    var next = at < 0 ? (step > 0 ? 0 : all.length - 1) : Math.min(all.length - 1, Math.max(0, at + step));
    focusItem(all[next]);
  }
  function typing(el) {
    return el && (el.tagName === "INPUT" || el.tagName === "TEXTAREA" || el.tagName === "SELECT" || el.isContentEditable);
  }

  document.addEventListener("keydown", function (ev) {
    if (!document.getElementById("queue") || ev.ctrlKey || ev.metaKey || ev.altKey) { return; }
    var li = current();
    if (ev.key === "Escape" && li) {
      var open = li.querySelector("details[open]");
      if (open) { open.open = false; }
      focusItem(li); ev.preventDefault(); return;
    }
    if (ev.key === "Enter" && ev.target.classList && ev.target.classList.contains("picker")) {
      ev.target.closest("form").requestSubmit(); ev.preventDefault(); return;  // Enter on the picker saves
    }
    if (typing(ev.target)) { return; }
    if (ev.key === "j") { move(1); ev.preventDefault(); }
    else if (ev.key === "k") { move(-1); ev.preventDefault(); }
    else if (ev.key === "c" && li && !li.classList.contains("done")) {
      li.querySelector("form.confirm-form").requestSubmit(); ev.preventDefault();
    } else if (ev.key === "e" && li && !li.classList.contains("done")) {
      var details = li.querySelector("details.correct");
      details.open = true; details.querySelector("select.picker").focus(); ev.preventDefault();
    } else if (ev.key === "?") {
      var help = document.getElementById("keys-help");
      if (help) { help.classList.toggle("shown"); }
    }
  });

  // After a decision the item is replaced by its outcome: go on with the next item still pending.
  document.addEventListener("htmx:afterSwap", function (ev) {
    var swapped = ev.detail && ev.detail.elt;
    if (!swapped || !swapped.closest || !swapped.closest("#queue")) { return; }
    var all = items(), done = all.indexOf(swapped.closest("li.item"));
    var rest = all.slice(done + 1).concat(all.slice(0, done)).filter(function (li) { return !li.classList.contains("done"); });
    focusItem(rest[0] || swapped);
    var counter = document.getElementById("pending");
    if (counter) { counter.setAttribute("data-left", String(pending().length)); }
  });

  document.addEventListener("change", function (ev) {
    var box = ev.target;
    if (box.classList && box.classList.contains("is-new")) {
      var form = box.closest("form");
      var input = form.querySelector(".new-input"), picker = form.querySelector(".picker");
      input.disabled = !box.checked; picker.disabled = box.checked;
      if (box.checked) { input.focus(); }
    }
  });

  document.addEventListener("click", function (ev) {
    var button = ev.target.closest ? ev.target.closest("button.copy") : null;
    if (!button) { return; }
    var text = document.getElementById(button.getAttribute("data-copy")).textContent;
    function done() { button.textContent = button.getAttribute("data-done"); }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done);
    } else {  // plain http on another host: the older way
      var area = document.createElement("textarea");
      area.value = text; document.body.appendChild(area); area.select();
      document.execCommand("copy"); document.body.removeChild(area); done();
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    if (document.getElementById("queue")) { focusItem(pending()[0]); }
  });
})();
