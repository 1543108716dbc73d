/* Spacelift pages: "Trigger run" asks in a dialog, calls the API, links the new run, and
 * refreshes the live regions at once. Without JavaScript the button leads to a confirmation
 * page instead. Served as a file: the CSP allows no inline script. */
(function () {
  "use strict";

  var dialog = document.querySelector("[data-trigger-dialog]");
  var notice = document.querySelector("[data-trigger-notice]");
  var pending = null;

  function refreshRegions() {
    (window.greenroom && window.greenroom.regions || []).forEach(function (r) { r.refreshNow(); });
  }

  function showNotice(text, href, linkText, isError) {
    if (!notice) return;
    notice.textContent = "";
    notice.className = "notice alert " + (isError ? "error" : "ok");
    notice.appendChild(document.createTextNode(text));
    if (href) {
      var a = document.createElement("a");
      a.href = href;
      a.textContent = linkText;
      notice.appendChild(document.createTextNode(" "));
      notice.appendChild(a);
    }
    notice.hidden = false;
  }

  function trigger(button) {
    var api = button.getAttribute("data-trigger-api");
    var name = button.getAttribute("data-trigger-name");
    var runPage = button.getAttribute("data-trigger-run-page");
    return window.greenroom.fetch(api, { method: "POST" }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (body) {
        if (!response.ok) {
          var message = body && body.error ? body.error.message : "HTTP " + response.status;
          throw new Error(message);
        }
        showNotice("Run " + body.id + " (" + body.state + ") triggered on " + name + ".",
                   runPage + encodeURIComponent(body.id), "Open the run", false);
        refreshRegions();
      });
    });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-trigger-api]");
    if (!button || !dialog || typeof dialog.showModal !== "function") return;
    event.preventDefault();
    pending = button;
    dialog.querySelector("[data-trigger-dialog-name]").textContent = button.getAttribute("data-trigger-name");
    var error = dialog.querySelector("[data-trigger-dialog-error]");
    error.hidden = true;
    dialog.showModal();
    dialog.querySelector("[data-trigger-confirm]").focus();
  });

  if (dialog) {
    dialog.addEventListener("close", function () {
      var button = pending;
      pending = null;
      if (!button || dialog.returnValue !== "confirm") return;
      trigger(button).catch(function (err) {
        showNotice("Spacelift action failed: " + err.message, null, null, true);
      });
    });
  }

  /* Filters: a changed sort applies at once. */
  var sort = document.querySelector(".filters select[name=sort]");
  if (sort) sort.addEventListener("change", function () { sort.form.requestSubmit(); });
})();
