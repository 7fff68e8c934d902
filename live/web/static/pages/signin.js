// Sign-in: the demo's accounts with one click (when the server has DEMO_SIGN_IN on), else a pasted
// token. The server issues no tokens in production; it verifies them on every call.

import { useState } from "preact/hooks";
import { api, session } from "../lib/api.js";
import { t } from "../lib/i18n.js";
import { html, mount, Header, useLoad, ErrorLine } from "../lib/ui.js";

const HOME = { platform_staff: "/staff", finance: "/staff", shop_operator: "/shop", streamer: "/studio" };

function next(roles) {
  const asked = new URLSearchParams(location.search).get("next");
  if (asked && asked.startsWith("/") && !asked.startsWith("//")) return asked;
  for (const r of Object.keys(HOME)) if (roles.includes(r)) return HOME[r];
  return "/";
}

function SignIn() {
  const [accounts, accountsError] = useLoad(() => api("GET", "/demo/accounts", { token: null }));
  const [token, setToken] = useState("");
  const [error, setError] = useState(null);
  const demo = async (account) => {
    try {
      const got = await api("POST", "/demo/sign-in", { body: { account }, token: null });
      session.signIn(got.token);
      location.assign(next(got.roles));
    } catch (e) {
      setError(e);
    }
  };
  const paste = async (ev) => {
    ev.preventDefault();
    try {
      const me = await api("GET", "/me", { token: token.trim() });
      session.signIn(token.trim());
      location.assign(next(me.roles));
    } catch (e) {
      setError(e);
    }
  };
  return html`<${Header} />
    <main class="narrow">
      <h1>${t("signin.title")}</h1>
      ${accounts &&
      html`<section class="panel" data-testid="demo-accounts">
        <h2>${t("signin.demo")}</h2>
        <p class="muted">${t("signin.demo_hint")}</p>
        ${accounts.items.map(
          (a) => html`<div class="row account">
            <button class="primary" data-account=${a.account} onClick=${() => demo(a.account)}>${t("signin.as", { name: a.name })}</button>
            <span class="muted">${a.roles.map((r) => t("role." + r)).join(" · ")}</span>
          </div>`,
        )}
      </section>`}
      ${accountsError && accountsError.code !== "demo_sign_in_off" && html`<${ErrorLine} error=${accountsError} />`}
      <form class="panel" onSubmit=${paste}>
        <h2>${t("signin.token")}</h2>
        <p class="muted">${t("signin.token_hint")}</p>
        <textarea name="token" rows="4" style="width:100%" value=${token} onInput=${(e) => setToken(e.target.value)}></textarea>
        <div class="row"><button class="primary" type="submit" disabled=${!token.trim()}>${t("nav.sign_in")}</button></div>
      </form>
      <${ErrorLine} error=${error} />
    </main>`;
}

mount(SignIn);
