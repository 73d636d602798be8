// Service Bus: codec (SDK-free), connections, the sender Publisher and the dead-letter reader.
// The SDK itself loads on first use (connect.ts), so importing this door costs nothing until a send.
export * from './codec.ts';
export * from './encode.ts';
export * from './connect.ts';
export * from './ServiceBusPublisher.ts';
export * from './ServiceBusDeadLetterReader.ts';
