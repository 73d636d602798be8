// Transports: codecs that turn wire messages into envelopes, and publishers.
export * from './parse.ts';
export * from './detect.ts';
export * from './eventbridge/codec.ts';
export * from './eventbridge/ruleDelivery.ts';
export * from './cloudevents/codec.ts';
export * from './servicebus/codec.ts';
// Service Bus sender Publisher and dead-letter reader: @azure/service-bus loads on their first use.
export * from './servicebus/encode.ts';
export * from './servicebus/connect.ts';
export * from './servicebus/ServiceBusPublisher.ts';
export * from './servicebus/ServiceBusDeadLetterReader.ts';
export * from './servicebus/ssmConnections.ts';
export * from './local/LocalBus.ts';
// Dead-letter queues, SDK-free parts; the SQS and archive adapters load on first use
// (sqs/index.ts, eventbridge/archiveReplay.ts) so commands that never touch AWS do not pay for the SDK.
export * from './sqs/deadLetter.ts';
export * from './sqs/awsSourceErrors.ts';
export * from './sqs/DeadLetterQueue.ts';
export * from './sqs/drainDeadLetters.ts';
export * from './servicebus/deadLetterQueue.ts';
