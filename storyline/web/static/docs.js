// Starts Swagger UI on /docs when its bundle could load; otherwise the server-side reference stays.
(function () {
  "use strict";
  window.addEventListener("load", function () {
    if (typeof window.SwaggerUIBundle !== "function") { return; }
    window.SwaggerUIBundle({ url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true });
    document.body.classList.add("swagger-ready");
  });
})();
