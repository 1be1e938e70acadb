import { createRouter, createWebHistory } from 'vue-router';

/** One view today; planner/ and patrol/ modules add theirs here. */
export const router = createRouter({
  history: createWebHistory(),
  routes: [
    { path: '/', name: 'command', component: () => import('./modules/command/CommandView.vue') },
    { path: '/:pathMatch(.*)*', redirect: { name: 'command' } },
  ],
});
