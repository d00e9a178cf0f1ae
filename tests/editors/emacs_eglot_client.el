;;; emacs_eglot_client.el --- Drives `localmind serve' from Emacs's eglot  -*- lexical-binding: t -*-

;; Drives `localmind serve' from eglot (Debian's Emacs 28 and elpa-eglot 1.9), as a user's editor would,
;; and writes what the server answered to a JSON file for tests/editors/test_emacs.py to check.
;;
;; Run it as: emacs --batch -l tests/editors/emacs_eglot_client.el
;; EMACS_LOCALMIND_SPEC names a JSON file with the inputs: the server command, the workspace root, the
;; file to open, whether to load markdown-mode (eglot then asks for Markdown hovers), the steps to run
;; and the timeouts. EMACS_LOCALMIND_RESULTS names the file this script writes; eglot's events buffer and
;; the server's stderr go to the files the spec names. Every failure ends up in the results as `error',
;; and the script always ends Emacs.
;;
;; Nothing runs on idle in batch mode, so every wait pumps the event loop itself. Each answer and each
;; message from the server gets the next number of one sequence (`seq', `answered_seq'), and a request
;; records the number of the last one received before it was sent (`sent_seq'). The server writes them
;; all to one pipe, so the numbers follow the order in which it sent them.

(require 'cl-lib)
(require 'json)

(defvar localmind-results
  (list :error nil :failed_step nil :initialized :json-false :hover_formats nil
        :steps nil :messages nil :shutdown nil)
  "What the script found, written as JSON at the end.")

(defvar localmind-step "reading the spec" "What the script is doing, for the failure message.")
(defvar localmind-sequence 0 "The number given to the last answer or message.")
(defvar localmind-messages nil "The server's window/showMessage and window/logMessage, newest first.")
(defvar localmind-steps nil "Each step's record as (NAME . PLIST), newest first.")
(defvar localmind-server nil "The eglot connection to `localmind serve'.")
(defvar localmind-spec nil "The spec, a plist.")

(defun localmind-next-sequence ()
  (setq localmind-sequence (1+ localmind-sequence)))

(defun localmind-spec (key)
  (plist-get localmind-spec key))

(defun localmind-read-spec (path)
  (with-temp-buffer
    (insert-file-contents path)
    (json-parse-buffer :object-type 'plist :null-object nil :false-object :json-false)))

;; Messages ----------------------------------------------------------------------------------------

(defun localmind-record-message (kind type message)
  (push (list :seq (localmind-next-sequence) :kind kind :type type :message message) localmind-messages))

(with-eval-after-load 'eglot
  (cl-defmethod eglot-handle-notification :before
    (_server (_method (eql window/showMessage)) &key type message)
    (localmind-record-message "show" type message))
  (cl-defmethod eglot-handle-notification :before
    (_server (_method (eql window/logMessage)) &key type message)
    (localmind-record-message "log" type message)))

(defun localmind-message-seen (prefix)
  "The first recorded window/showMessage that starts with PREFIX, or nil."
  (cl-find-if (lambda (m) (and (equal (plist-get m :kind) "show")
                               (string-prefix-p prefix (plist-get m :message))))
              (reverse localmind-messages)))

;; Waiting ----------------------------------------------------------------------------------------

(defun localmind-check-running (waiting-for)
  (unless (and localmind-server (jsonrpc-running-p localmind-server))
    (error "The server exited before %s" waiting-for)))

(defun localmind-wait-for (what timeout-ms condition)
  "Pump the event loop until CONDITION is non-nil; fail the step after TIMEOUT-MS."
  (let ((deadline (+ (float-time) (/ timeout-ms 1000.0))))
    (while (not (funcall condition))
      (localmind-check-running what)
      (when (> (float-time) deadline)
        (error "%s did not happen within %d ms" what timeout-ms))
      (accept-process-output nil 0.05))))

;; Requests ---------------------------------------------------------------------------------------

(defun localmind-record (name method params result error sent)
  (push (cons name (list :method method :params params :result result :error error
                         :sent_seq sent :answered_seq (localmind-next-sequence)))
        localmind-steps))

(defun localmind-error-plist (err)
  "A jsonrpc-error (or any error) as a plist with a code and a message."
  (let ((data (cdr err)))
    (list :code (cdr (assq 'jsonrpc-error-code (cdr-safe data)))
          :message (or (cdr (assq 'jsonrpc-error-message (cdr-safe data)))
                       (error-message-string err)))))

(defun localmind-request (name method params)
  "Send METHOD with PARAMS through eglot's connection.
Record its answer or error under NAME."
  (setq localmind-step name)
  (localmind-check-running (format "the %s request" name))
  (let ((sent localmind-sequence))
    (condition-case err
        (let ((result (jsonrpc-request localmind-server method params
                                       :timeout (/ (localmind-spec :request_timeout_ms) 1000.0))))
          (localmind-record name (substring (symbol-name method) 1) params result nil sent))
      (jsonrpc-error (localmind-record name (substring (symbol-name method) 1) params nil
                                       (localmind-error-plist err) sent)))))

(defun localmind-command (name command arguments)
  "Run COMMAND with ARGUMENTS through `eglot-execute-command'.
That is what eglot's code actions do.  Record the answer under NAME."
  (setq localmind-step name)
  (localmind-check-running (format "the %s command" name))
  (let ((sent localmind-sequence)
        (params (list :command command :arguments arguments))
        (jsonrpc-default-request-timeout (/ (localmind-spec :request_timeout_ms) 1000.0)))
    (condition-case err
        (localmind-record name "workspace/executeCommand" params
                          (eglot-execute-command localmind-server command arguments) nil sent)
      (jsonrpc-error (localmind-record name "workspace/executeCommand" params nil
                                       (localmind-error-plist err) sent)))))

(defun localmind-visit (file needle offset)
  "Visit FILE with point OFFSET characters into the first NEEDLE.
Fail unless eglot manages the buffer."
  (find-file file)
  (goto-char (point-min))
  (unless (search-forward needle nil t)
    (error "%S is not in %s" needle file))
  (goto-char (+ (match-beginning 0) offset))
  (unless (eq (eglot-current-server) localmind-server)
    (error "eglot does not manage %s (major mode %s)" file major-mode)))

(defun localmind-at-point-request (name method step)
  "Send METHOD at the place STEP names, recorded under NAME.
The position is the one eglot computes (UTF-16 columns)."
  (localmind-visit (plist-get step :file) (plist-get step :needle) (or (plist-get step :offset) 1))
  (localmind-request name method (eglot--TextDocumentPositionParams)))

(defun localmind-xref-definition (name step)
  "Find definitions at the place STEP names through eglot's xref backend.
That is what M-. does.  Record them under NAME as files and lines."
  (localmind-visit (plist-get step :file) (plist-get step :needle) (or (plist-get step :offset) 1))
  (setq localmind-step name)
  (let* ((sent localmind-sequence)
         (jsonrpc-default-request-timeout (/ (localmind-spec :request_timeout_ms) 1000.0))
         (items (xref-backend-definitions 'eglot (xref-backend-identifier-at-point 'eglot)))
         (found (mapcar (lambda (item)
                          (let ((location (xref-item-location item)))
                            (list :file (xref-location-group location)
                                  :line (xref-location-line location))))
                        items)))
    (localmind-record name "textDocument/definition (xref)" nil (vconcat found) nil sent)))

;; Steps ------------------------------------------------------------------------------------------

(defun localmind-status-condition (step)
  "A condition on `localmind.status': indexing runs finished and no run going."
  (let ((runs (plist-get step :runs)))
    (lambda ()
      (let* ((status (jsonrpc-request localmind-server :workspace/executeCommand
                                      (list :command "localmind.status" :arguments [])))
             (indexing (plist-get status :indexing)))
        (or (and (>= (or (plist-get indexing :runs) 0) runs)
                 (eq (plist-get indexing :running) :json-false))
            (progn (accept-process-output nil 0.2) nil))))))

(defun localmind-run-step (step)
  (let ((name (plist-get step :name))
        (action (plist-get step :action)))
    (setq localmind-step name)
    (pcase action
      ("wait_message"
       (localmind-wait-for (format "a message starting %S" (plist-get step :prefix))
                           (plist-get step :timeout_ms)
                           (lambda () (localmind-message-seen (plist-get step :prefix)))))
      ("wait_index"
       (localmind-wait-for (format "%d finished indexing run(s)" (plist-get step :runs))
                           (plist-get step :timeout_ms) (localmind-status-condition step)))
      ("hover" (localmind-at-point-request name :textDocument/hover step))
      ("definition" (localmind-at-point-request name :textDocument/definition step))
      ("xref_definition" (localmind-xref-definition name step))
      ("request" (localmind-request name (intern (concat ":" (plist-get step :method))) (plist-get step :params)))
      ("command" (localmind-command name (plist-get step :command) (or (plist-get step :arguments) [])))
      (_ (error "Unknown action %S in step %S" action name)))))

;; The session ------------------------------------------------------------------------------------

(defun localmind-project (directory)
  "The workspace root as the project of DIRECTORY when it lies under it.
The root is no VCS checkout: without this, each file's own folder would
be its project, with a server of its own."
  (let ((root (file-name-as-directory (localmind-spec :root))))
    (when (file-in-directory-p directory root)
      (cons 'transient root))))

(defun localmind-start ()
  "Load eglot (and markdown-mode when asked), open the first file, connect."
  (add-hook 'project-find-functions #'localmind-project)
  (when (eq (localmind-spec :markdown) t)
    (require 'markdown-mode))
  (require 'eglot)
  (add-to-list 'eglot-server-programs
               (cons '(python-mode markdown-mode text-mode) (append (localmind-spec :command) nil)))
  (add-to-list 'auto-mode-alist '("\\.md\\'" . text-mode) t)
  (setq eglot-sync-connect t
        eglot-connect-timeout (/ (localmind-spec :start_timeout_ms) 1000))
  (setq localmind-step "opening the first file and connecting")
  (find-file (localmind-spec :open))
  (let ((contact (eglot--guess-contact)))
    (setq localmind-server (apply #'eglot--connect contact)))
  (unless localmind-server
    (error "eglot returned no connection"))
  (let ((hover (plist-get (plist-get (eglot-client-capabilities localmind-server) :textDocument) :hover)))
    (setq localmind-results (plist-put localmind-results :hover_formats (plist-get hover :contentFormat))))
  (setq localmind-results (plist-put localmind-results :initialized t))
  ;; The buffer is managed once eglot has sent didOpen for it.
  (localmind-wait-for "eglot managing the first file" 10000 (lambda () (bound-and-true-p eglot--managed-mode))))

(defun localmind-shutdown ()
  "Ask the server to shut down and exit, keeping eglot's buffers for the record."
  (setq localmind-step "shutting down")
  (let ((sent localmind-sequence))
    (condition-case err
        (progn
          (eglot-shutdown localmind-server nil (/ (localmind-spec :stop_timeout_ms) 1000.0) t)
          (setq localmind-results
                (plist-put localmind-results :shutdown (list :error nil :sent_seq sent))))
      (error (setq localmind-results
                   (plist-put localmind-results :shutdown
                              (list :error (error-message-string err) :sent_seq sent)))))))

(defun localmind-save-buffer-to (buffer path)
  (when (and path (buffer-live-p buffer))
    (with-current-buffer buffer
      (write-region (point-min) (point-max) path nil 'silent))))

(defun localmind-write-results ()
  (let ((results localmind-results))
    (setq results (plist-put results :messages (vconcat (reverse localmind-messages))))
    (setq results (plist-put results :steps
                             (let ((steps nil))
                               (dolist (entry (reverse localmind-steps) steps)
                                 (setq steps (plist-put steps (intern (concat ":" (car entry))) (cdr entry)))))))
    (with-temp-file (getenv "EMACS_LOCALMIND_RESULTS")
      (insert (condition-case err
                  (json-serialize results :null-object nil :false-object :json-false)
                (error (json-serialize
                        (list :error (format "could not encode the results as JSON: %s"
                                             (error-message-string err))))))))))

(defun localmind-main ()
  (setq localmind-spec (localmind-read-spec (getenv "EMACS_LOCALMIND_SPEC")))
  (localmind-start)
  (mapc #'localmind-run-step (localmind-spec :steps))
  (localmind-shutdown))

(let ((events nil) (stderr nil))
  (condition-case err
      (localmind-main)
    (error
     (setq localmind-results (plist-put localmind-results :error (error-message-string err)))
     (setq localmind-results (plist-put localmind-results :failed_step localmind-step))))
  (when localmind-server
    (setq events (jsonrpc-events-buffer localmind-server)
          stderr (jsonrpc-stderr-buffer localmind-server))
    ;; After a failure the server may still run; stop it so no process outlives the test.
    (when (jsonrpc-running-p localmind-server)
      (ignore-errors (jsonrpc-shutdown localmind-server))))
  (localmind-save-buffer-to events (localmind-spec :events_path))
  (localmind-save-buffer-to stderr (localmind-spec :stderr_path))
  (localmind-write-results)
  (kill-emacs 0))

;;; emacs_eglot_client.el ends here
