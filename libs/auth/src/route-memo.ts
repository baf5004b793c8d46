import type { ExecutionContext } from '@nestjs/common';

type Target = (...args: never[]) => unknown;

/**
 * Route metadata read once per route: decorators are fixed once the app is built, and the guards
 * run on every request, so each guard keeps what it reflected per (controller class, handler).
 * Bounded by the number of routes.
 */
export class RouteMemo<T> {
  private readonly byClass = new WeakMap<object, WeakMap<object, T>>();

  constructor(private readonly read: (targets: [handler: Target, controller: Target]) => T) {}

  get(context: ExecutionContext): T {
    const handler = context.getHandler() as Target;
    const controller = context.getClass() as unknown as Target;
    let byHandler = this.byClass.get(controller);
    if (byHandler === undefined) this.byClass.set(controller, (byHandler = new WeakMap()));
    if (byHandler.has(handler)) return byHandler.get(handler) as T;
    const value = this.read([handler, controller]);
    byHandler.set(handler, value);
    return value;
  }
}
