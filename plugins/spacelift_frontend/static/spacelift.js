/* Spacelift pages: "Trigger run" and the run actions (Confirm, Discard, Cancel run, Retry) ask
 * in a dialog that says what will happen, call the API, show a notice, and refresh the live
 * regions at once: the page updates without a reload. Without JavaScript every button leads to
 * a confirmation page with a form instead. Served as a file: the CSP allows no inline script. */
(function () {
  "use strict";

  var notice = document.querySelector("[data-notice]");
  var triggerDialog = document.querySelector("[data-trigger-dialog]");
  var actionDialog = document.querySelector("[data-action-dialog]");
  var pending = null;

  var DONE = {
    confirm: "confirmed: Spacelift applies its plan",
    discard: "discarded: nothing was applied",
    cancel: "canceled before it started",
    retry: "retried"
  };

  function refreshRegions() {
    (window.greenroom && window.greenroom.regions || []).forEach(function (r) { r.refreshNow(); });
  }

  function showNotice(text, href, linkText, isError) {
    if (!notice) return;
    notice.textContent = "";
    notice.className = "notice alert " + (isError ? "error" : "ok");
    notice.setAttribute("role", isError ? "alert" : "status");
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

  /* POST to the API; resolves with the JSON body, rejects with the API's error message. */
  function post(api) {
    return window.greenroom.fetch(api, { method: "POST" }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (body) {
        if (!response.ok) {
          throw new Error(body && body.error ? body.error.message : "HTTP " + response.status);
        }
        return body;
      });
    });
  }

  function failed(err) {
    showNotice("Spacelift action failed: " + err.message, null, null, true);
  }

  function canDialog(dialog) {
    return dialog && typeof dialog.showModal === "function";
  }

  /* -- Trigger run ------------------------------------------------------------------------ */

  function trigger(button) {
    var name = button.getAttribute("data-trigger-name");
    var runPage = button.getAttribute("data-trigger-run-page");
    return post(button.getAttribute("data-trigger-api")).then(function (body) {
      showNotice("Run " + body.id + " (" + body.state + ") triggered on " + name + ".",
                 runPage + encodeURIComponent(body.id), "Open the run", false);
      refreshRegions();
    });
  }

  function openTrigger(button) {
    pending = button;
    triggerDialog.querySelector("[data-trigger-dialog-name]").textContent = button.getAttribute("data-trigger-name");
    triggerDialog.querySelector("[data-trigger-dialog-error]").hidden = true;
    triggerDialog.returnValue = "";  // Escape keeps the last value: never act on a stale "confirm"
    triggerDialog.showModal();
    triggerDialog.querySelector("[data-trigger-confirm]").focus();
  }

  /* -- Run actions ------------------------------------------------------------------------ */

  function act(button) {
    var action = button.getAttribute("data-run-action");
    var runId = button.getAttribute("data-action-run");
    var runPage = button.getAttribute("data-action-run-page");
    return post(button.getAttribute("data-action-api")).then(function (body) {
      if (action === "retry") {
        showNotice("Run " + runId + " retried: the new run " + body.id + " is " + body.state + ".",
                   runPage + encodeURIComponent(body.id), "Open the new run", false);
      } else {
        showNotice("Run " + runId + " " + DONE[action] + " (" + body.state + ").", null, null, false);
      }
      refreshRegions();
    });
  }

  function openAction(button) {
    pending = button;
    var get = function (name) { return button.getAttribute("data-action-" + name) || ""; };
    actionDialog.querySelector("[data-action-dialog-title]").textContent = get("title");
    actionDialog.querySelector("[data-action-dialog-text]").textContent = get("text");
    var plan = actionDialog.querySelector("[data-action-dialog-plan]");
    plan.hidden = button.getAttribute("data-run-action") !== "confirm";
    actionDialog.querySelector("[data-action-dialog-delta]").textContent = get("delta");
    actionDialog.querySelector("[data-action-dialog-commit]").textContent = get("commit") || "—";
    var confirm = actionDialog.querySelector("[data-action-confirm]");
    confirm.textContent = get("label");
    actionDialog.returnValue = "";
    actionDialog.showModal();
    confirm.focus();
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-trigger-api]");
    if (button && canDialog(triggerDialog)) {
      event.preventDefault();
      openTrigger(button);
      return;
    }
    button = event.target.closest("[data-run-action]");
    if (button && canDialog(actionDialog)) {
      event.preventDefault();
      openAction(button);
    }
  });

  function onClose(dialog, run) {
    dialog.addEventListener("close", function () {
      var button = pending;
      pending = null;
      if (!button || dialog.returnValue !== "confirm") return;
      run(button).catch(failed);
    });
  }

  if (triggerDialog) onClose(triggerDialog, trigger);
  if (actionDialog) onClose(actionDialog, act);

  /* Filters: a changed sort applies at once. */
  var sort = document.querySelector(".filters select[name=sort]");
  if (sort) sort.addEventListener("change", function () { sort.form.requestSubmit(); });
})();
