// Small behaviours every page shares, as data attributes instead of inline handlers and styles
// (the Content-Security-Policy allows neither):
//   data-autosubmit        on a select: submit its form when the choice changes
//   data-confirm="text"    on a form or a submit button: ask before submitting
//   data-progress="42"     on a Bootstrap progress bar: its width in percent
//   data-colour="#aabbcc"  on a badge: its background colour
//   data-copy="#field"     on a button: copy that field's value (data-copied: the button's
//                          text once done)
//   data-shown-for="id:a,b"  on a part of a form: shown only while the select with that id
//                          holds one of those values (without JavaScript it is always shown)
(function () {
  "use strict";

  function showForChoices(root) {
    root.querySelectorAll("[data-shown-for]").forEach(function (part) {
      const [selectId, values] = part.dataset.shownFor.split(":");
      const select = document.getElementById(selectId);
      if (select) {
        part.hidden = !values.split(",").includes(select.value);
      }
    });
  }

  document.addEventListener("change", function (event) {
    if (event.target.tagName === "SELECT") {
      showForChoices(document);
    }
    const field = event.target.closest("[data-autosubmit]");
    if (field && field.form) {
      field.form.submit();
    }
  });

  document.addEventListener("submit", function (event) {
    const submitter = event.submitter;
    const message = (submitter && submitter.dataset.confirm) || event.target.dataset.confirm;
    if (message && !window.confirm(message)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

  document.addEventListener("click", function (event) {
    const button = event.target.closest("[data-copy]");
    const field = button && document.querySelector(button.dataset.copy);
    if (!field) {
      return;
    }
    field.select();
    // The clipboard API exists only on https and localhost; elsewhere the selection is copied.
    const copied = navigator.clipboard
      ? navigator.clipboard.writeText(field.value)
      : Promise.resolve(document.execCommand("copy"));
    copied.then(function () {
      if (button.dataset.copied) {
        button.textContent = button.dataset.copied;
      }
    });
  });

  const COLOUR = /^#[0-9a-fA-F]{3,8}$/;

  function apply(root) {
    showForChoices(root);
    root.querySelectorAll("[data-progress]").forEach(function (bar) {
      const percent = Math.max(0, Math.min(100, Number(bar.dataset.progress) || 0));
      bar.style.width = percent + "%";
    });
    root.querySelectorAll("[data-colour]").forEach(function (badge) {
      if (COLOUR.test(badge.dataset.colour)) {
        badge.style.backgroundColor = badge.dataset.colour;
      }
    });
  }

  // htmx.onLoad runs for the page and for every fragment htmx swaps in (progress polling).
  if (window.htmx) {
    window.htmx.onLoad(apply);
  } else {
    document.addEventListener("DOMContentLoaded", function () { apply(document); });
  }

  // Requests no click or keystroke started (polling, panels loading themselves) are marked, so
  // that they do not count as activity for the idle session timeout.
  document.addEventListener("htmx:configRequest", function (event) {
    if (!event.detail.triggeringEvent) {
      event.detail.headers["X-Background-Request"] = "1";
    }
  });
})();
