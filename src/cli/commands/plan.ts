import { formatPlan } from '../../plan/format.js';
import { preparePlan, type PlanFlags } from '../prepare.js';

export async function planCommand(name: string, flags: PlanFlags & { json?: boolean }, opts: { build?: string } = {}): Promise<number> {
  const { plan } = await preparePlan(name, flags, { build: opts.build });
  if (flags.json) {
    const { planToJson } = await import('../../plan/json.js');
    process.stdout.write(JSON.stringify(planToJson(plan, process.env), null, 2) + '\n');
  } else process.stdout.write(formatPlan(plan, process.env));
  return 0;
}
