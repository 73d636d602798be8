// Transports: codecs that turn wire messages into envelopes, and publishers.
export * from './parse.ts';
export * from './detect.ts';
export * from './eventbridge/codec.ts';
export * from './cloudevents/codec.ts';
export * from './servicebus/codec.ts';
export * from './local/LocalBus.ts';
// Dead-letter queues, SDK-free parts; the SQS and archive adapters load on first use
// (sqs/index.ts, eventbridge/archiveReplay.ts) so commands that never touch AWS do not pay for the SDK.
export * from './sqs/deadLetter.ts';
export * from './sqs/awsSourceErrors.ts';
export * from './sqs/DeadLetterQueue.ts';
export * from './sqs/drainDeadLetters.ts';
