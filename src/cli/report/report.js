(function () {
  "use strict";
  var table = document.getElementById("rows");
  var body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.rows);
  var heads = table.tHead.rows[0].cells;
  var input = document.getElementById("filter");
  var shown = document.getElementById("shown");
  var state = { filter: "", sort: -1, desc: false };

  function save() {
    var hash = "filter=" + encodeURIComponent(state.filter);
    if (state.sort >= 0) { hash += "&sort=" + state.sort + (state.desc ? "&desc=1" : ""); }
    try { history.replaceState(null, "", "#" + hash); } catch (e) { /* a file: URL may refuse */ }
  }

  function filter() {
    state.filter = input.value;
    var words = state.filter.toLowerCase().split(/\s+/).filter(Boolean);
    var count = 0;
    rows.forEach(function (row) {
      var text = row.textContent.toLowerCase();
      var hit = words.every(function (w) { return text.indexOf(w) >= 0; });
      row.hidden = !hit;
      if (hit) { count += 1; }
    });
    shown.textContent = count + " of " + rows.length + " rows";
    document.body.dataset.shown = String(count);
    save();
  }

  function sort(column, desc) {
    state.sort = column;
    state.desc = desc;
    rows.sort(function (a, b) {
      var order = a.cells[column].textContent.localeCompare(b.cells[column].textContent, undefined, { numeric: true });
      return desc ? -order : order;
    });
    rows.forEach(function (row) { body.appendChild(row); });
    for (var i = 0; i < heads.length; i += 1) {
      heads[i].setAttribute("aria-sort", i === column ? (desc ? "descending" : "ascending") : "none");
    }
    save();
  }

  Array.prototype.forEach.call(heads, function (head, column) {
    head.querySelector("button").addEventListener("click", function () {
      sort(column, state.sort === column ? !state.desc : false);
    });
  });
  input.addEventListener("input", filter);

  // A link can carry a view: #filter=eu-west-1&sort=3&desc=1
  var asked = new URLSearchParams(location.hash.slice(1));
  var column = parseInt(asked.get("sort"), 10);
  if (column >= 0 && column < heads.length) { sort(column, asked.get("desc") === "1"); }
  input.value = asked.get("filter") || "";
  filter();
  document.body.dataset.ready = "1";
}());
