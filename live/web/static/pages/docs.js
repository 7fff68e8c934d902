// The API documentation: the served OpenAPI document (/openapi.json) in Swagger UI, vendored under
// /static/vendor/swagger-ui-dist (loaded by the page's shell as the global SwaggerUIBundle). Nothing is
// fetched from elsewhere: the online validator is off.

import { useEffect, useRef } from "preact/hooks";
import { session } from "../lib/api.js";
import { t } from "../lib/i18n.js";
import { html, mount, Header } from "../lib/ui.js";

function SwaggerBox() {
  const box = useRef(null);
  useEffect(() => {
    if (!window.SwaggerUIBundle || !box.current) return;
    const ui = window.SwaggerUIBundle({
      url: "/openapi.json",
      domNode: box.current,
      presets: [window.SwaggerUIBundle.presets.apis],
      layout: "BaseLayout",
      validatorUrl: null,
      deepLinking: false,
      docExpansion: "list",
      defaultModelsExpandDepth: 0,
      tryItOutEnabled: false,
      onComplete: () => {
        // "Try it out" calls as the signed-in account (the bearer scheme of the document)
        if (session.token) ui.preauthorizeApiKey("bearer", session.token);
      },
    });
  }, []);
  // Swagger UI owns this element's children (Preact never touches them: it renders none)
  return html`<div ref=${box} class="docs-swagger" data-testid="swagger"></div>`;
}

function Docs() {
  return html`<${Header} />
    <main class="docs">
      <div class="row">
        <h1 class="grow" data-testid="docs-title">${t("docs.title")}</h1>
        <a href="/" data-testid="docs-back">${t("docs.back")}</a>
      </div>
      <p class="muted">
        ${t("docs.intro")} <a href="/openapi.json" data-testid="docs-json">/openapi.json</a>
      </p>
      ${window.SwaggerUIBundle ? html`<${SwaggerBox} />` : html`<p class="error">${t("docs.missing")}</p>`}
    </main>`;
}

mount(Docs);
