import type { ServiceBusMessageLike } from '../../shared/buses/index.ts';

/**
 * The trigger's messages as the plain shape the codec reads. With `cardinality: 'many'` the
 * host passes the bodies as an array and everything else as parallel arrays in the trigger
 * metadata (`messageIdArray`, `subjectArray`, `applicationPropertiesArray`, …); with one
 * message, the same names without `Array`.
 */
export function triggerMessages(messages: unknown, metadata: Record<string, unknown> | undefined, where: { namespace: string; entity: string }): ServiceBusMessageLike[] {
  const bodies = Array.isArray(messages) ? messages : [messages];
  const many = Array.isArray(messages);
  const meta = metadata ?? {};
  const field = (name: string, i: number): unknown => {
    if (!many) return meta[name];
    const list = meta[`${name}Array`];
    return Array.isArray(list) ? list[i] : undefined;
  };
  return bodies.map((body, i) => {
    const str = (name: string) => {
      const v = field(name, i);
      return typeof v === 'string' && v !== '' ? v : undefined;
    };
    const props = field('applicationProperties', i) ?? field('userProperties', i);
    const count = Number(field('deliveryCount', i));
    const enqueued = field('enqueuedTimeUtc', i);
    const subject = str('subject') ?? str('label');
    const messageId = str('messageId');
    const contentType = str('contentType');
    const correlationId = str('correlationId');
    return {
      namespace: where.namespace,
      entity: where.entity,
      body,
      ...(messageId ? { messageId } : {}),
      ...(subject ? { subject } : {}),
      ...(contentType ? { contentType } : {}),
      ...(correlationId ? { correlationId } : {}),
      ...(props && typeof props === 'object' ? { applicationProperties: props as Record<string, unknown> } : {}),
      ...(Number.isInteger(count) && count > 0 ? { deliveryCount: count } : {}),
      ...(typeof enqueued === 'string' ? { enqueuedTimeUtc: enqueued } : enqueued instanceof Date ? { enqueuedTimeUtc: enqueued.toISOString() } : {}),
    };
  });
}
