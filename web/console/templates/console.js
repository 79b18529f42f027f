// Forms marked data-api are sent as JSON with the page's CSRF token; an error is shown in the
// page's alert region, a new key in its panel, otherwise the page goes where data-then says.
// A {field} in data-api is filled with that field's value; a DELETE sends its fields in the
// query; an empty field marked data-empty="null" is sent as null (unlimited), a checkbox as true.
(function () {
  function token() { return document.querySelector('meta[name="csrf-token"]').content; }
  var problem = document.getElementById("problem");
  function show(message) { problem.textContent = message; problem.hidden = false; problem.focus(); }
  document.querySelectorAll("form[data-api]").forEach(function (form) {
    form.addEventListener("submit", async function (event) {
      event.preventDefault();
      if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) return;
      var body = {};
      new FormData(form).forEach(function (value, name) {
        var field = form.elements[name];
        if (value === "") { if (field.dataset.empty === "null") body[name] = null; return; }
        body[name] = field.type === "number" ? Number(value) : field.type === "checkbox" ? true : value;
      });
      var url = form.dataset.api.replace(/\{(\w+)\}/g, function (_, name) {
        var value = body[name]; delete body[name]; return encodeURIComponent(value);
      });
      var method = form.dataset.method || "POST";
      if (method === "DELETE" && Object.keys(body).length) url += "?" + new URLSearchParams(body);
      var answer = await fetch(url, {
        method: method, credentials: "same-origin",
        headers: {"Content-Type": "application/json", "X-CSRF-Token": token()},
        body: method === "GET" || method === "DELETE" ? undefined : JSON.stringify(body)
      });
      if (!answer.ok) {
        var error = await answer.json().catch(function () { return {}; });
        show((error.error && error.error.message) || ("Failed: HTTP " + answer.status));
        return;
      }
      if (form.dataset.then === "show-key") { showKey(await answer.json()); form.reset(); return; }
      window.location.assign(form.dataset.then || window.location.href);
    });
  });
  function showKey(made) {
    var panel = document.getElementById("new-key");
    panel.querySelector("#new-key-value").textContent = made.key;
    panel.querySelector("#new-key-base").textContent = made.base_url;
    panel.querySelector("#new-key-curl").textContent = "curl " + made.base_url +
      '/models -H "Authorization: Bearer ' + made.key + '"';
    panel.hidden = false;
    panel.querySelector("h2").focus();
  }
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    button.addEventListener("click", async function () {
      var text = document.getElementById(button.dataset.copy).textContent;
      try { await navigator.clipboard.writeText(text); button.textContent = "Copied"; }
      catch (e) { window.getSelection().selectAllChildren(document.getElementById(button.dataset.copy)); button.textContent = "Selected: press Ctrl+C"; }
    });
  });
})();
