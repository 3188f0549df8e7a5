// The API reference page (/api/): Swagger UI, from static/vendor, on the schema the page names.
(function () {
  "use strict";

  const container = document.getElementById("swagger-ui");
  if (!container || !window.SwaggerUIBundle) {
    return;
  }
  window.SwaggerUIBundle({
    url: container.dataset.schemaUrl,
    domNode: container,
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    deepLinking: true,
    // No call to the public validator service: nothing leaves this server.
    validatorUrl: null,
    defaultModelsExpandDepth: 0,
  });
})();
