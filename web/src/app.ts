import { createApp } from 'vue';
import { createPinia } from 'pinia';
import 'element-plus/theme-chalk/base.css';
import 'element-plus/theme-chalk/dark/css-vars.css';
import './styles/theme.css';
import App from './App.vue';
import { loginLocation, router } from './router';
import { i18n } from './i18n';
import { onAuthFailure } from './api/http';
import { useSessionStore } from './stores/session';

document.documentElement.lang = i18n.global.locale.value;

// The command map is the usual first view: fetch its code while the session and the lifecycle are
// checked, not after (the router's import then finds it loaded; its map was started by main.ts).
if (window.location.pathname === '/') void import('./modules/command/CommandView.vue');

const pinia = createPinia();
const app = createApp(App).use(pinia).use(router).use(i18n);

// Any 401 (API call or map tile): the session ended; sign in again and come back here.
// Any 403 FORBIDDEN: the role may not do that; say so over the current view.
const session = useSessionStore(pinia);
onAuthFailure({
  unauthenticated() {
    const current = router.currentRoute.value;
    if (current.meta.public) return;
    if (session.sessionEnded()) void router.replace(loginLocation(current));
  },
  forbidden(problem) {
    session.showForbidden(problem);
  },
});

app.mount('#app');
