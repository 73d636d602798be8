// Transports: codecs that turn wire messages into envelopes, and publishers.
export * from './parse.ts';
export * from './detect.ts';
export * from './eventbridge/codec.ts';
export * from './cloudevents/codec.ts';
export * from './servicebus/codec.ts';
export * from './local/LocalBus.ts';
