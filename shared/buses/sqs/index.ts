// SQS dead-letter queues: reading, replaying and settling failed events held there.
export * from './awsSourceErrors.ts';
export * from './deadLetter.ts';
export * from './DeadLetterQueue.ts';
export * from './drainDeadLetters.ts';
export * from './SqsDeadLetterQueue.ts';
