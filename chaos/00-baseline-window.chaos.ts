// The false-alarm baseline window: the campaign's first period with no fault. Any alert the
// pipeline fires here is a false alarm on the scoreboard.
import { describeBaselineWindow } from '../src/harness/index.ts';

describeBaselineWindow();
