export * from './event.ts';
export { EventPublishError, type EventBus, type FailedEvent, type PublishResult } from './bus.ts';
export { InvalidEventError, prepareEvent, entrySize, MAX_ENTRY_BYTES, MAX_ENTRIES_PER_CALL } from './prepare.ts';
export { MemoryEventBus, type DeliveredEvent, type EventFilter, type EventHandler } from './memory-bus.ts';
export { EventBridgeBus, batches, type EventBridgeBusOptions } from './eventbridge-bus.ts';
