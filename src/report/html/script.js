// Progressive enhancement only: sort tables by a header, filter the groups by text. The page is
// complete without it.
(function () {
  "use strict";
  function key(cell) {
    var t = cell.textContent.trim();
    var n = Number(t.replace(/[\s\u202f,]/g, ""));
    return t !== "" && !isNaN(n) ? n : t.toLowerCase();
  }
  document.querySelectorAll("table.sortable").forEach(function (table) {
    var body = table.tBodies[0];
    if (!body || !table.tHead) { return; }
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, col) {
      th.classList.add("sort");
      th.tabIndex = 0;
      var asc = true;
      function sort() {
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = key(a.cells[col]), y = key(b.cells[col]);
          if (typeof x !== typeof y) { x = String(x); y = String(y); }
          return (x < y ? -1 : x > y ? 1 : 0) * (asc ? 1 : -1);
        });
        rows.forEach(function (r) { body.appendChild(r); });
        th.setAttribute("aria-sort", asc ? "ascending" : "descending");
        asc = !asc;
      }
      th.addEventListener("click", sort);
      th.addEventListener("keydown", function (e) { if (e.key === "Enter") { sort(); } });
    });
  });
  var groups = document.getElementById("groups");
  if (groups) {
    var input = document.createElement("input");
    input.type = "search";
    input.id = "filter";
    input.placeholder = "Filter groups (address, id, port, source, file)";
    input.setAttribute("aria-label", "Filter security groups");
    groups.insertBefore(input, groups.children[1] || null);
    input.addEventListener("input", function () {
      var q = input.value.trim().toLowerCase();
      groups.querySelectorAll("section.group").forEach(function (s) {
        s.hidden = q !== "" && s.textContent.toLowerCase().indexOf(q) < 0;
      });
    });
  }
})();
