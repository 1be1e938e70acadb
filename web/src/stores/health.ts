import { defineStore } from 'pinia';
import { ref } from 'vue';
import { fetchHealth, type Health } from '@/api/health';
import { ApiProblem } from '@/api/http';

/** Service and database status shown in the header, refreshed by polling. */
export const useHealthStore = defineStore('health', () => {
  const health = ref<Health | null>(null);
  const problem = ref<ApiProblem | null>(null);

  async function refreshHealth(): Promise<void> {
    try {
      health.value = await fetchHealth();
      problem.value = null;
    } catch (err) {
      // 503 from /api/health still carries the body: keep what the server said about the database.
      problem.value = err instanceof ApiProblem ? err : new ApiProblem({ type: 'about:blank', title: String(err), status: 0, code: 'NETWORK_ERROR' });
      if (problem.value.status === 503 && 'database' in problem.value.problem) {
        health.value = problem.value.problem as unknown as Health;
      } else {
        health.value = null;
      }
    }
  }

  return { health, problem, refreshHealth };
});
