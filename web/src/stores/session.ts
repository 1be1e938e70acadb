import { defineStore } from 'pinia';
import { computed, ref, shallowRef } from 'vue';
import { fetchSession, login, logout, type SessionUser } from '@/api/auth';
import { fetchItems } from '@/api/features';
import { ApiProblem, asProblem } from '@/api/http';

/** Set while this tab holds a session, so a 401 on reload reads "session expired", not "please sign in". */
const SIGNED_IN_KEY = 'wangge.signedIn';

function remember(on: boolean): void {
  try {
    if (on) window.sessionStorage.setItem(SIGNED_IN_KEY, '1');
    else window.sessionStorage.removeItem(SIGNED_IN_KEY);
  } catch {
    // Storage disabled: the login page just does not say why.
  }
}

function remembered(): boolean {
  try {
    return window.sessionStorage.getItem(SIGNED_IN_KEY) === '1';
  } catch {
    return false;
  }
}


/**
 * Who is signed in (from `GET /api/auth/me` at start and from sign-in), why the login page shows,
 * and the last "not allowed" answer of the API.
 */
export const useSessionStore = defineStore('session', () => {
  const user = ref<SessionUser | null>(null);
  /** True once the start-up check of the session has answered. */
  const checked = ref(false);
  /** The session ended under the user (a 401 from the API or a tile): the login page says so. */
  const expired = ref(false);
  /** Why the session could not be checked (server down, network), shown on the login page. */
  const startProblem = shallowRef<ApiProblem | null>(null);
  /** The last 403 FORBIDDEN: shown as an explanation over the current view until dismissed. */
  const forbidden = shallowRef<ApiProblem | null>(null);
  /** Name of the user's area (community, street, district), when it could be looked up. */
  const areaName = ref<string | null>(null);
  let checking: Promise<void> | null = null;

  const signedIn = computed(() => user.value !== null);

  /** Checks the session once (later calls wait for the same answer). */
  function ensureChecked(): Promise<void> {
    checking ??= (async () => {
      try {
        const found = await fetchSession();
        if (found) {
          setUser(found);
        } else {
          user.value = null;
          expired.value = remembered();
          remember(false);
        }
      } catch (err) {
        user.value = null;
        startProblem.value = asProblem(err);
      } finally {
        checked.value = true;
      }
    })();
    return checking;
  }

  function setUser(u: SessionUser): void {
    user.value = u;
    checked.value = true;
    expired.value = false;
    startProblem.value = null;
    forbidden.value = null;
    remember(true);
    void loadAreaName(u);
  }

  async function loadAreaName(u: SessionUser): Promise<void> {
    areaName.value = null;
    if (u.areaCode === '*' || u.areaCode.length > 12) return;
    try {
      // The areas collection is cut to the user's scope; ordered by code, the scope itself comes first.
      const page = await fetchItems('areas', { limit: 1 });
      const own = page.features[0]?.properties;
      if (user.value?.id === u.id && own?.code === u.areaCode) areaName.value = own.name;
    } catch {
      // The code alone is shown.
    }
  }

  async function signIn(username: string, password: string): Promise<SessionUser> {
    const u = await login(username, password);
    setUser(u);
    return u;
  }

  async function signOut(): Promise<void> {
    try {
      await logout();
    } catch {
      // Signed out locally all the same; the server session ends on its own.
    }
    remember(false);
    user.value = null;
    expired.value = false;
    areaName.value = null;
    forbidden.value = null;
  }

  /** The API answered 401: the session is gone. Returns true the first time (navigate once). */
  function sessionEnded(): boolean {
    if (!user.value) return false;
    user.value = null;
    areaName.value = null;
    forbidden.value = null;
    expired.value = true;
    remember(false);
    return true;
  }

  function showForbidden(problem: ApiProblem): void {
    forbidden.value = problem;
  }

  function dismissForbidden(): void {
    forbidden.value = null;
  }

  return {
    user, checked, expired, startProblem, forbidden, areaName, signedIn,
    ensureChecked, signIn, signOut, sessionEnded, showForbidden, dismissForbidden,
  };
});
