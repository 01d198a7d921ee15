/** Exit code of a run stopped by Ctrl-C or SIGTERM, as shells report 128 + SIGINT. */
export const EXIT_INTERRUPTED = 130;
