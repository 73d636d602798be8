/** The compiled route table: which routes' patterns match an event (in its EventBridge view). */
export interface RouteMatcher {
  matches(event: unknown): string[];
}
