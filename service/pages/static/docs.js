// Starts Swagger UI on the service's own contract (kept out of the page: no inline script).
window.addEventListener("DOMContentLoaded", function () {
  "use strict";
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: false,
    docExpansion: "list",
    filter: true,
    tryItOutEnabled: false,
    displayRequestDuration: true,
    defaultModelsExpandDepth: 0,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    onComplete: function () {
      // Swagger UI leaves its server list without a name for screen readers.
      var servers = document.getElementById("servers");
      if (servers) { servers.setAttribute("aria-label", "Server"); }
    }
  });
});
