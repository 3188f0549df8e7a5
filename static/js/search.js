// The top bar's search (templates/search/_box.html): "/" focuses the box from anywhere but a
// field being typed in, unfolding the top bar first where it is folded (below 1200 px); htmx fills the dropdown as you type; the arrow keys move through the
// hits, Enter opens the chosen one (without a choice the form posts to the results page), and
// Escape closes the dropdown.
(function () {
  "use strict";

  const input = document.getElementById("global-search-input");
  const results = document.getElementById("global-search-results");
  if (!input || !results) {
    return;
  }

  function isTyping(target) {
    return target.closest("input, textarea, select, [contenteditable]:not([contenteditable='false'])");
  }

  function hits() {
    return Array.from(results.querySelectorAll(".search-hit"));
  }

  function setOpen(open) {
    results.classList.toggle("show", open);
    input.setAttribute("aria-expanded", open ? "true" : "false");
  }

  function choose(index) {
    const all = hits();
    all.forEach(function (hit, position) {
      hit.classList.toggle("active", position === index);
      hit.setAttribute("aria-selected", position === index ? "true" : "false");
    });
    if (all[index]) {
      all[index].scrollIntoView({block: "nearest"});
    }
  }

  function chosen() {
    return hits().findIndex(function (hit) {
      return hit.classList.contains("active");
    });
  }

  function focusInput() {
    input.focus();
    input.select();
  }

  const foldedBar = input.closest(".navbar-collapse");

  document.addEventListener("keydown", function (event) {
    if (event.key === "/" && !event.ctrlKey && !event.metaKey && !event.altKey && !isTyping(event.target)) {
      event.preventDefault();
      if (foldedBar && input.offsetParent === null) {
        // A hidden box takes no focus: unfold the bar, then focus it.
        foldedBar.addEventListener("shown.bs.collapse", focusInput, {once: true});
        bootstrap.Collapse.getOrCreateInstance(foldedBar).show();
      } else {
        focusInput();
      }
    }
  });

  input.addEventListener("keydown", function (event) {
    const all = hits();
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      if (!all.length) {
        return;
      }
      event.preventDefault();
      setOpen(true);
      const step = event.key === "ArrowDown" ? 1 : -1;
      choose((chosen() + step + all.length) % all.length);
    } else if (event.key === "Enter") {
      const index = chosen();
      if (index >= 0 && results.classList.contains("show")) {
        event.preventDefault();
        window.location.assign(all[index].href);
      }
    } else if (event.key === "Escape") {
      setOpen(false);
      choose(-1);
    }
  });

  document.body.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target === results) {
      setOpen(results.children.length > 0 && input.value.trim().length > 0);
      choose(-1);
    }
  });

  document.addEventListener("click", function (event) {
    if (!event.target.closest("#global-search")) {
      setOpen(false);
    }
  });
})();
