import { createInProcessBus } from '../../src/index.js';
import { describeBusContract } from './bus-contract.js';

describeBusContract('in-process', ({ onError }) => createInProcessBus({ retryDelayMs: 10, maxRetryDelayMs: 100, onError }));
