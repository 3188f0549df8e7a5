// The deal board (templates/deals/board.html): cards dragged between stage columns with
// SortableJS. A drop posts the card's stage to its move URL (the same endpoint the card's
// no-script form posts to); the answer says where to go next: the won step (record the
// purchase), the lost step (the reason), or nowhere (the page reloads with new totals).
(function () {
  "use strict";
  var board = document.getElementById("deal-board");
  if (!board || typeof Sortable === "undefined") {
    return;
  }
  board.classList.add("deal-board-draggable");
  var csrf = board.dataset.csrf;

  function move(card, stage) {
    var body = new FormData();
    body.append("stage", stage);
    return fetch(card.dataset.moveUrl, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrf, Accept: "application/json" },
    }).then(function (response) {
      return response.json().then(function (answer) {
        window.location.assign(answer.next || window.location.href);
      });
    });
  }

  board.querySelectorAll(".deal-cards").forEach(function (column) {
    Sortable.create(column, {
      group: "deals",
      sort: false,
      animation: 150,
      // Pointer events instead of the browser's own drag and drop: the same on touch screens.
      forceFallback: true,
      filter: "select, button, input",
      preventOnFilter: false,
      onAdd: function (event) {
        move(event.item, event.to.dataset.stage).catch(function () {
          window.location.reload();
        });
      },
    });
  });
})();
