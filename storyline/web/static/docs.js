// Starts Swagger UI on /docs (its assets are served locally from /static/swagger-ui); the server-side
// reference below it stays for browsers without JavaScript.
(function () {
  "use strict";
  window.addEventListener("load", function () {
    if (typeof window.SwaggerUIBundle !== "function") { return; }
    window.SwaggerUIBundle({ url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true });
    document.body.classList.add("swagger-ready");
  });
})();
