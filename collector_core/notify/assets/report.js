// The findings tables of the aws-collector report: filtering, sorting and paging over the rows the
// page embeds as JSON. Data only ever reaches the page through textContent and new Option(), never
// as markup, so a finding's text shows as text whatever it holds.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("report-data").textContent);
  var SEVERITIES = data.severities;
  var ACCOUNTS = data.accounts;
  var PAGE = 100;
  var COLUMNS = { severity: 3, account: 0, region: 1, resource: 2, finding: 4, age: 5, "new": 6 };
  var form = document.getElementById("filters");
  var status = document.getElementById("filter-status");
  var ROUTES = data.routes || []; // [name, open, new] per route of the config; rows name theirs at [7]
  var filters = { text: "", severity: 0, account: "", region: "", age: 0, onlyNew: false, route: -1 };

  function accountLabel(index) {
    var account = ACCOUNTS[index];
    return account[1] === account[0] ? account[0] : account[1] + " (" + account[0] + ")";
  }

  function haystack(row) {
    var account = ACCOUNTS[row[0]];
    return [account[0], account[1], row[1], row[2], row[4], SEVERITIES[row[3]]].join("\n").toLowerCase();
  }

  function matches(section, i) {
    var row = section.rows[i];
    if (row[3] < filters.severity) return false;
    if (filters.account !== "" && String(row[0]) !== filters.account) return false;
    if (filters.region !== "" && row[1] !== filters.region) return false;
    if (filters.age > 0 && !(row[5] >= filters.age)) return false;
    if (filters.onlyNew && !row[6]) return false;
    if (filters.route >= 0 && (row[7] || []).indexOf(filters.route) < 0) return false;
    if (filters.text) {
      if (!section.text) section.text = section.rows.map(haystack);
      if (section.text[i].indexOf(filters.text) < 0) return false;
    }
    return true;
  }

  function compare(key) {
    var col = COLUMNS[key];
    if (key === "account") {
      return function (a, b) {
        var x = accountLabel(a[0]).toLowerCase(), y = accountLabel(b[0]).toLowerCase();
        return x < y ? -1 : x > y ? 1 : 0;
      };
    }
    return function (a, b) {
      var x = a[col], y = b[col];
      if (x === null) x = -1;
      if (y === null) y = -1;
      if (typeof x === "string") { x = x.toLowerCase(); y = y.toLowerCase(); }
      return x < y ? -1 : x > y ? 1 : 0;
    };
  }

  function cell(tr, text, className) {
    var td = document.createElement("td");
    if (className) td.className = className;
    td.textContent = text;
    tr.appendChild(td);
    return td;
  }

  function rowElement(row) {
    var tr = document.createElement("tr");
    var severity = document.createElement("span");
    severity.className = "sev sev-" + SEVERITIES[row[3]];
    severity.textContent = SEVERITIES[row[3]];
    cell(tr, "").appendChild(severity);
    var account = ACCOUNTS[row[0]];
    var who = cell(tr, account[1]);
    if (account[1] !== account[0]) {
      var id = document.createElement("span");
      id.className = "id";
      id.textContent = account[0];
      who.appendChild(id);
    }
    cell(tr, row[1]);
    cell(tr, row[2]);
    cell(tr, row[4], "finding");
    cell(tr, row[5] === null ? "" : String(row[5]), "num");
    cell(tr, row[6] ? "new" : "", "new");
    return tr;
  }

  function render(section) {
    var shown = [];
    for (var i = 0; i < section.rows.length; i++) if (matches(section, i)) shown.push(section.rows[i]);
    if (section.sort) {
      var by = compare(section.sort.key), sign = section.sort.descending ? -1 : 1;
      shown = shown.map(function (row, i) { return [row, i]; });
      shown.sort(function (a, b) { return sign * by(a[0], b[0]) || a[1] - b[1]; });
      shown = shown.map(function (pair) { return pair[0]; });
    }
    var pages = Math.max(1, Math.ceil(shown.length / PAGE));
    section.page = Math.min(section.page, pages - 1);
    var first = section.page * PAGE;
    var body = document.createElement("tbody");
    shown.slice(first, first + PAGE).forEach(function (row) { body.appendChild(rowElement(row)); });
    if (!shown.length) {
      var empty = document.createElement("tr");
      cell(empty, section.rows.length ? "No findings match the filters." : "No open findings.").colSpan = 7;
      body.appendChild(empty);
    }
    section.table.replaceChild(body, section.table.tBodies[0]);
    section.status.textContent = shown.length
      ? "Rows " + (first + 1) + " to " + Math.min(first + PAGE, shown.length) + " of " + shown.length +
        (shown.length < section.rows.length ? " matching the filters" : "") + " (page " + (section.page + 1) +
        " of " + pages + ")."
      : "";
    section.previous.disabled = section.page === 0;
    section.next.disabled = section.page >= pages - 1;
    return shown.length;
  }

  function renderAll() {
    var total = 0, embedded = 0;
    sections.forEach(function (section) { total += render(section); embedded += section.rows.length; });
    var route = filters.route >= 0 ? ROUTES[filters.route] : null;
    var note = document.getElementById("route-note");
    note.hidden = !route;
    note.textContent = route ? "Opened on the route " + route[0] + ": its " + route[1] + " open findings (" +
      route[2] + " new) are the rows below; the totals above are the whole report's." : "";
    status.textContent = (route ? "Route " + route[0] + ": " + route[1] + " open findings (" + route[2] +
      " new). " : "") + (total === embedded ? total + " open findings on this page."
      : total + " of " + embedded + " open findings match the filters.");
  }

  var sections = data.sections.map(function (payload, index) {
    var element = document.getElementById("plugin-" + index);
    var section = {
      rows: payload.rows, page: 0, sort: null, text: null,
      table: element.querySelector("table.findings"),
      status: element.querySelector(".shown"),
      previous: element.querySelector("[data-page=previous]"),
      next: element.querySelector("[data-page=next]")
    };
    section.previous.addEventListener("click", function () { section.page -= 1; render(section); });
    section.next.addEventListener("click", function () { section.page += 1; render(section); });
    element.querySelectorAll("th[data-key]").forEach(function (th) {
      th.querySelector("button").addEventListener("click", function () {
        var key = th.getAttribute("data-key");
        var descending = section.sort && section.sort.key === key ? !section.sort.descending
          : key === "severity" || key === "age" || key === "new";
        section.sort = { key: key, descending: descending };
        element.querySelectorAll("th[data-key]").forEach(function (other) { other.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", descending ? "descending" : "ascending");
        section.page = 0;
        render(section);
      });
    });
    return section;
  });

  function fill(select, values) {
    values.forEach(function (pair) { select.appendChild(new Option(pair[1], pair[0])); });
  }

  var used = {}, regions = {};
  data.sections.forEach(function (s) { s.rows.forEach(function (r) { used[r[0]] = true; regions[r[1]] = true; }); });
  fill(form.elements.account, Object.keys(used).map(function (i) { return [i, accountLabel(Number(i))]; })
    .sort(function (a, b) { return a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0; }));
  fill(form.elements.region, Object.keys(regions).sort().map(function (r) { return [r, r]; }));

  // The page opened for one route: ?route=NAME, or #route=NAME after a presigned link's query.
  function routeInUrl() {
    var name = new URLSearchParams(location.search).get("route");
    if (name === null && location.hash) name = new URLSearchParams(location.hash.slice(1)).get("route");
    for (var i = 0; i < ROUTES.length; i++) if (ROUTES[i][0] === name) return i;
    return -1;
  }
  if (form.elements.route) {
    fill(form.elements.route, ROUTES.map(function (route, i) { return [String(i), route[0]]; }));
    filters.route = routeInUrl();
    if (filters.route >= 0) form.elements.route.value = String(filters.route);
  }

  var pending = null;
  function readFilters() {
    filters.text = form.elements.text.value.trim().toLowerCase();
    filters.severity = Number(form.elements.severity.value);
    filters.account = form.elements.account.value;
    filters.region = form.elements.region.value;
    filters.age = Math.max(0, Number(form.elements.age.value) || 0);
    filters.onlyNew = form.elements.onlyNew.checked;
    filters.route = form.elements.route && form.elements.route.value !== "" ? Number(form.elements.route.value) : -1;
    sections.forEach(function (section) { section.page = 0; });
    renderAll();
  }
  form.addEventListener("input", function () {
    clearTimeout(pending);
    pending = setTimeout(readFilters, 120);
  });
  form.addEventListener("change", readFilters);
  form.addEventListener("submit", function (event) { event.preventDefault(); readFilters(); });
  form.addEventListener("reset", function () { setTimeout(readFilters, 0); });
  form.hidden = false;
  renderAll();
  document.documentElement.setAttribute("data-ready", "true");
})();
