import { createRouter, createWebHistory, type RouteLocationNormalized, type RouteRecordRaw } from 'vue-router';
import type { Role } from './api/auth';
import { useSessionStore } from './stores/session';
import { useMetaStore } from './stores/meta';
import { ApiProblem } from './api/http';
import { safeRedirect } from './modules/auth/redirect';
import { discardEarlyMap } from './map/early';

declare module 'vue-router' {
  interface RouteMeta {
    /** Open without a session (the login page). */
    public?: boolean;
    /** Roles that may open the view; absent: every signed-in role. */
    roles?: readonly Role[];
    /** i18n key of the view's name in the navigation; views without one are not listed. */
    nav?: string;
  }
}

/** The views that exist. planner/ and patrol/ modules add theirs here (with `meta.roles` and `meta.nav`). */
const routes: RouteRecordRaw[] = [
  { path: '/login', name: 'login', component: () => import('./modules/auth/LoginView.vue'), meta: { public: true } },
  { path: '/', name: 'command', component: () => import('./modules/command/CommandView.vue'), meta: { nav: 'nav.command' } },
  {
    path: '/field',
    name: 'field',
    component: () => import('./modules/field/FieldView.vue'),
    meta: { nav: 'field.nav.field', roles: ['grid_worker', 'admin'] },
  },
  {
    path: '/department',
    name: 'department',
    component: () => import('./modules/department/DepartmentView.vue'),
    meta: { nav: 'field.nav.department', roles: ['department', 'admin'] },
  },
  {
    path: '/kpis',
    name: 'kpis',
    component: () => import('./modules/kpis/KpisView.vue'),
    meta: { nav: 'nav.kpis', roles: ['admin', 'commander', 'viewer'] },
  },
  {
    path: '/planner',
    name: 'planner',
    component: () => import('./modules/planner/PlannerView.vue'),
    meta: { nav: 'nav.planner', roles: ['planner', 'admin', 'commander', 'viewer'] },
  },
  {
    path: '/admin',
    name: 'admin',
    component: () => import('./modules/admin/AdminView.vue'),
    meta: { nav: 'nav.admin', roles: ['admin'] },
  },
  { path: '/:pathMatch(.*)*', redirect: { name: 'command' } },
];

export const router = createRouter({ history: createWebHistory(), routes });

/** Where the login page goes back to: the page the user was on. */
export function loginLocation(from: Pick<RouteLocationNormalized, 'fullPath'>) {
  return { name: 'login', query: from.fullPath && from.fullPath !== '/' ? { redirect: from.fullPath } : {} };
}

/** The routes a role may open (for the navigation). */
export function routesFor(role: string | undefined) {
  return router.getRoutes().filter((r) => r.meta.nav && (!r.meta.roles || (role !== undefined && (r.meta.roles as readonly string[]).includes(role))));
}

/**
 * Where a role's phone opens (at the first view of a tab and after signing in): a grid worker's on
 * 我的任务, a department's on its queue — not on the command map, which stays one tap away.
 */
const PHONE_HOME: Partial<Record<Role, string>> = { grid_worker: 'field', department: 'department' };
/** Where a role goes after signing in on any screen: a planner's work is the planner (the map stays a link away). */
const HOME: Partial<Record<Role, string>> = { planner: 'planner' };
const isPhone = () => window.matchMedia('(max-width: 720px)').matches;

router.beforeEach(async (to, from) => {
  const session = useSessionStore();
  await session.ensureChecked();
  if (to.meta.public) {
    // Signed in already: the login page has nothing to do.
    if (to.name === 'login' && session.user) return safeRedirect(to.query.redirect);
    return true;
  }
  if (!session.user) return loginLocation(to);
  // The lifecycle table, photo limits and categories every view follows, loaded before anything is
  // decided, so that a redirect below completes at once (a failure is retried in the background;
  // the views then show what they can).
  await useMetaStore().ensureLoaded();
  if (to.meta.roles && !(to.meta.roles as readonly string[]).includes(session.user.role)) {
    // Not for this role: back to the map, with the same "not allowed" banner a 403 of the API shows.
    session.showForbidden(new ApiProblem({
      type: 'about:blank', title: 'Forbidden', status: 403, code: 'FORBIDDEN', detail: `role ${session.user.role} may not open ${to.path}`,
    }));
    return { name: 'command' };
  }
  const role = session.user.role as Role;
  const firstView = !from.name || from.name === 'login';
  const home = (firstView && isPhone() ? PHONE_HOME[role] : undefined) ?? (from.name === 'login' ? HOME[role] : undefined);
  if (to.name === 'command' && home) return { name: home, query: to.query };
  return true;
});

// The map started for the command view (main.ts) is not needed when the first view is another.
router.afterEach((to) => {
  if (to.name !== 'command') discardEarlyMap();
});
