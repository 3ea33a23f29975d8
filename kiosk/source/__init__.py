"""Where content comes from and how it gets ready: the authoring folder or the content tree over HTTP
(the one client), the verified cache, signatures, publishing, preparation of images and speech, watching."""
